"""Download authorisations: only the granted fields leave (per-credential projections of the version's
Parquet file, and the datastore API), persons' names only when named, and the daily quota of requests
or rows (429 with Retry-After and X-RateLimit-*)."""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq

from cli.main import main as sudata
from operation import applications

from .conftest import APPLICATION


def _download_credential(client, ops, fields, **approval) -> tuple[int, dict]:
    r = client.post("/api/operation/applications",
                    json={**APPLICATION, "mode": "download", "datasets": {"taxi_trips": fields}})
    assert r.status_code == 201, r.text
    app_id, secret = r.json()["result"]["id"], r.json()["result"]["secret"]
    scope = applications.approval_scope(client.app.state.portal.store, ops.application(app_id).to_dict(), **approval)
    ops.approve(app_id, "审核员甲", scope)
    token = client.post(f"/api/operation/applications/{app_id}/credential", json={"secret": secret})
    return app_id, {"Authorization": token.json()["result"]["credential"]}


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_a_field_subset_serves_only_those_fields(client, ops, op_paths):
    app_id, auth = _download_credential(client, ops, ["district", "fare", "trip_date"])
    got = client.get("/dataset/taxi_trips/download.csv", headers=auth)
    assert got.status_code == 200, got.text
    rows = _csv(got)
    assert list(rows[0]) == ["district", "fare", "trip_date"] and len(rows) == 240
    assert "驾驶员" not in got.text and "苏E" not in got.text
    assert {r["district"] for r in rows} == {"姑苏区", "吴中区", "相城区", "虎丘区"}

    parquet = client.get("/dataset/taxi_trips/download.parquet", headers=auth)
    assert parquet.status_code == 200
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.column_names == ["district", "fare", "trip_date"] and table.num_rows == 240
    # the published file holds every column; what was served is the application's own projection
    written = list((op_paths.operation_db.parent / "projections" / f"application-{app_id}").iterdir())
    assert sorted(p.suffix for p in written) == [".csv", ".parquet"]
    assert client.get("/dataset/taxi_trips/download.json", headers=auth).status_code == 404

    page = client.get("/api/3/action/datastore_search", params={"resource_id": "taxi_trips", "limit": 3},
                      headers=auth).json()["result"]
    assert [f["id"] for f in page["fields"]] == ["_id", "district", "fare", "trip_date"]
    assert all(set(r) == {"_id", "district", "fare", "trip_date"} for r in page["records"])
    # the other columns cannot be asked for, filtered, sorted or searched
    for params in ({"fields": "plate"}, {"filters": '{"driver_name": "驾驶员01"}'}, {"sort": "plate"}):
        r = client.get("/api/3/action/datastore_search", params={"resource_id": "taxi_trips", **params}, headers=auth)
        assert r.status_code == 409 and "not in the table" in r.text
    found = client.get("/api/3/action/datastore_search", params={"resource_id": "taxi_trips", "q": "苏E00001"},
                       headers=auth).json()["result"]
    assert found["total"] == 0


def test_revoking_the_credential_deletes_its_projections(client, ops, op_paths):
    app_id, auth = _download_credential(client, ops, ["trip_id", "driver_name"])
    assert client.get("/dataset/taxi_trips/download.csv", headers=auth).status_code == 200
    folder = op_paths.operation_db.parent / "projections" / f"application-{app_id}"
    assert [p.suffix for p in folder.iterdir()] == [".csv"]  # persons' names, copied for this application
    assert ops.revoke_credential(app_id, "审核员甲")
    assert not folder.exists()
    revoked = [e for e in ops.audit_log(app_id) if e["action"] == "credential.revoked"]
    assert len(revoked) == 1 and revoked[0]["detail"] == {"projections_removed": 1}
    assert client.get("/dataset/taxi_trips/download.csv", headers=auth).status_code == 403


def test_the_projections_of_ended_authorisations_are_deleted(client, ops, op_paths, monkeypatch):
    from datetime import date

    import operation.store

    root = op_paths.operation_db.parent / "projections"
    ended, ended_auth = _download_credential(client, ops, ["trip_id", "fare"], period_end="2027-06-30")
    running, running_auth = _download_credential(client, ops, ["trip_id", "fare"])
    for auth in (ended_auth, running_auth):
        assert client.get("/dataset/taxi_trips/download.csv", headers=auth).status_code == 200
    held = {p.name for p in root.iterdir()}
    assert {f"application-{ended}", f"application-{running}"} <= held
    (root / "application-999").mkdir()  # left by an application the store does not hold
    portal = client.app.state.portal
    portal._projections_swept = float("-inf")
    portal.sweep_projections()  # inside both periods: only the stray folder goes
    assert {p.name for p in root.iterdir()} == held

    monkeypatch.setattr(operation.store, "today", lambda: date(2027, 7, 1))
    portal.sweep_projections()  # within the hour of the portal's last sweep: nothing is looked at
    assert (root / f"application-{ended}").exists()
    assert ops.remove_ended_projections() == {ended: 1}
    assert {p.name for p in root.iterdir()} == held - {f"application-{ended}"}
    (entry,) = [e for e in ops.audit_log(ended) if e["action"] == "projections.removed"]
    assert entry["detail"] == {"files": 1, "reason": "period ended"}
    assert client.get("/dataset/taxi_trips/download.csv", headers=ended_auth).status_code == 403
    assert ops.remove_ended_projections() == {}


def test_persons_names_leave_only_when_the_scope_names_them(client, ops):
    form = client.get("/apply").text   # the form says which fields identify persons
    assert "驾驶员（个人信息）" in form and "车牌（个人信息）" not in form
    _, every = _download_credential(client, ops, [])
    rows = _csv(client.get("/dataset/taxi_trips/download.csv", headers=every))
    assert list(rows[0]) == ["trip_id", "district", "category", "plate", "fare", "trip_date"]
    _, named = _download_credential(client, ops, ["trip_id", "driver_name"])
    rows = _csv(client.get("/dataset/taxi_trips/download.csv", headers=named))
    assert list(rows[0]) == ["trip_id", "driver_name"] and rows[1]["driver_name"] == "驾驶员01"


def test_a_daily_quota_of_requests(client, ops):
    _, auth = _download_credential(client, ops, [], quota_per_day=2)
    assert client.head("/dataset/taxi_trips/download.csv", headers=auth).status_code == 200  # takes nothing
    first = client.get("/dataset/taxi_trips/download.csv", headers=auth)
    second = client.get("/api/3/action/datastore_search", params={"resource_id": "taxi_trips"}, headers=auth)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.headers["x-ratelimit-limit"] == "2" and first.headers["x-ratelimit-remaining"] == "1"
    assert second.headers["x-ratelimit-remaining"] == "0"
    assert second.headers.get_list("x-ratelimit-limit") == ["2"]  # not the portal-wide limit besides
    over = client.get("/dataset/taxi_trips/download.parquet", headers=auth)
    assert over.status_code == 429 and "daily quota of 2 requests" in over.text
    assert 0 < int(over.headers["retry-after"]) <= 86400 and over.headers["x-ratelimit-remaining"] == "0"
    assert client.get("/api/3/action/datastore_search", params={"resource_id": "taxi_trips"},
                      headers=auth).status_code == 429


def test_parallel_downloads_cannot_overrun_the_daily_quota(client, ops, monkeypatch):
    # every request reads today's usage before any is logged: checked apart from the charge, all would pass
    import time
    from concurrent.futures import ThreadPoolExecutor

    from operation import downloads

    app_id, auth = _download_credential(client, ops, [], quota_per_day=3)
    take = downloads.take

    def slow_take(*args):
        time.sleep(0.05)
        return take(*args)

    monkeypatch.setattr(downloads, "take", slow_take)
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: client.get("/dataset/taxi_trips/download.csv", headers=auth).status_code,
                              range(8)))
    assert sorted(codes) == [200] * 3 + [429] * 5, codes
    access = client.app.state.portal.access
    with access.connect() as con:
        scope = f"application:{app_id}"
        served = con.execute("select count(*) from access_log where scope = ? and status = 200", (scope,)).fetchone()[0]
        held = con.execute("select count(*) from quota_holds where scope = ?", (scope,)).fetchone()[0]
    assert (served, held) == (3, 0)  # every hold was released with its log row


def test_a_daily_quota_of_rows(client, ops, op_home, monkeypatch, capsys):
    r = client.post("/api/operation/applications",
                    json={**APPLICATION, "mode": "download", "datasets": {"taxi_trips": ["district", "fare"]}})
    app_id, secret = r.json()["result"]["id"], r.json()["result"]["secret"]
    monkeypatch.setenv("SUDATA_HOME", str(op_home))
    assert sudata(["applications", "approve", str(app_id), "--by", "审核员甲", "--quota", "300",
                   "--quota-unit", "rows"]) == 0
    assert '"quota_unit": "rows"' in capsys.readouterr().out
    token = client.post(f"/api/operation/applications/{app_id}/credential", json={"secret": secret})
    auth = {"Authorization": token.json()["result"]["credential"]}
    page = client.get("/api/3/action/datastore_search", params={"resource_id": "taxi_trips", "limit": 200},
                      headers=auth)
    assert page.status_code == 200 and page.headers["x-ratelimit-remaining"] == "100"
    whole = client.get("/dataset/taxi_trips/download.csv", headers=auth)  # 240 rows > 100 left
    assert whole.status_code == 429 and "300 rows" in whole.text and "100 left" in whole.text
    last = client.get("/api/3/action/datastore_search", params={"resource_id": "taxi_trips", "limit": 100},
                      headers=auth)
    assert last.status_code == 200 and last.headers["x-ratelimit-remaining"] == "0"
    assert client.get("/api/3/action/datastore_search", params={"resource_id": "taxi_trips", "limit": 1},
                      headers=auth).status_code == 429
