"""Applications and the zone over HTTP: submission, review (CLI and reviewer pages), the one-time
credential, 403 before approval and after expiry, zone credentials refused on downloads, quotas."""

from __future__ import annotations

import io
import re
import warnings
from datetime import date

import pytest

import operation.store
from cli.main import main as sudata
from portal.access import AccessStore

from .conftest import APPLICATION

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture
def cli(op_home, monkeypatch, capsys):
    monkeypatch.setenv("SUDATA_HOME", str(op_home))

    def run(*argv: str, stdin: str | None = None) -> tuple[int, str]:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = sudata(list(argv))
        out = capsys.readouterr()
        return code, out.out + out.err
    return run


def _apply(client, **changes) -> tuple[int, str]:
    r = client.post("/api/operation/applications", json={**APPLICATION, **changes})
    assert r.status_code == 201, r.text
    return r.json()["result"]["id"], r.json()["result"]["secret"]


def _collect(client, app_id, secret) -> str:
    r = client.post(f"/api/operation/applications/{app_id}/credential", json={"secret": secret})
    assert r.status_code == 200, r.text
    return r.json()["result"]["credential"]


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("changes, message", [
    ({"uscc": "91320000134756588A"}, "unified social credit code"),
    ({"datasets": {"resident_register": []}}, "may be applied for"),
    ({"datasets": {"taxi_trips": ["no_such_field"]}}, "has no field no_such_field"),
    ({"mode": "download", "datasets": {"bus_stops": []}}, "needs no download"),
    ({"period_end": "2020-01-01"}, "period_end"),
    ({"purpose": ""}, "required: purpose"),
])
def test_invalid_applications_are_refused(client, changes, message):
    r = client.post("/api/operation/applications", json={**APPLICATION, **changes})
    assert r.status_code == 400 and message in r.json()["error"]["message"]


def test_a_zone_application_from_submission_to_a_released_result(client, cli, op_paths):
    app_id, secret = _apply(client)
    assert client.post(f"/api/operation/applications/{app_id}/status", json={"secret": "wrong"}).status_code == 404
    status = client.post(f"/api/operation/applications/{app_id}/status", json={"secret": secret}).json()["result"]
    assert status["status"] == "submitted" and status["uscc"] == "91320000134756588U"
    # before approval: no credential can be collected, and the zone refuses without one
    r = client.post(f"/api/operation/applications/{app_id}/credential", json={"secret": secret})
    assert r.status_code == 409 and "submitted" in r.json()["error"]["message"]
    sql = {"sql": "select district, count(*) as trips from taxi_trips group by district"}
    assert client.post("/api/operation/zone/queries", json=sql).status_code == 403
    assert client.post("/api/operation/zone/queries", json=sql, headers=_auth("sdo_forged")).status_code == 403

    code, out = cli("applications", "approve", str(app_id), "--by", "审核员甲", "--quota", "20",
                    "--dataset", "taxi_trips:district,category,driver_name,fare")
    assert code == 0, out
    token = _collect(client, app_id, secret)
    again = client.post(f"/api/operation/applications/{app_id}/credential", json={"secret": secret})
    assert again.status_code == 409 and "shown once" in again.json()["error"]["message"]

    tables = client.get("/api/operation/zone/tables", headers=_auth(token)).json()["result"]
    assert tables == [{"name": "taxi_trips", "title": "出租车行程", "version": 1, "identifying": ["driver_name"],
                       "columns": ["district", "category", "driver_name", "fare"]}]
    refused = client.post("/api/operation/zone/queries", headers=_auth(token),
                          json={"sql": "select trip_date, count(*) from taxi_trips group by trip_date"})
    assert refused.status_code == 422 and "'trip_date' of taxi_trips is not authorised" in refused.json()["result"]["reason"]

    r = client.post("/api/operation/zone/queries", json=sql, headers=_auth(token))
    assert r.status_code == 202 and r.json()["result"]["status"] == "safe" and "result" not in r.json()["result"]
    qid = r.json()["result"]["id"]
    assert client.get(f"/api/operation/zone/queries/{qid}/result.csv", headers=_auth(token)).status_code == 409

    # a zone credential opens no file and no rows, and the refusals are in the access log
    for url in ("/dataset/taxi_trips/download.csv", "/api/3/action/datastore_search?resource_id=taxi_trips"):
        denied = client.get(url, headers=_auth(token))
        assert denied.status_code == 403 and "zone credential" in denied.text
    log = [e for e in AccessStore(op_paths.portal_db).access_log() if e["scope"] == f"application:{app_id}"]
    assert [e["status"] for e in log] == [403, 403] and log[0]["holder"] == APPLICATION["organisation"]

    code, out = cli("zone", "release", str(qid), "--by", "审核员甲")
    assert code == 0, out
    got = client.get(f"/api/operation/zone/queries/{qid}/result.csv", headers=_auth(token))
    assert got.status_code == 200 and got.headers["x-content-sha256"] in out
    lines = got.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "district,trips" and sorted(lines[1:]) == sorted(f"{d},60" for d in ("姑苏区", "吴中区", "相城区", "虎丘区"))
    shown = client.get(f"/api/operation/zone/queries/{qid}", headers=_auth(token)).json()["result"]
    assert shown["released"] and shown["released_by"] == "审核员甲" and len(shown["result"]["rows"]) == 4

    code, out = cli("applications", "show", str(app_id))
    for action in ("application.submitted", "application.approved", "credential.issued", "zone.query", "zone.released"):
        assert action in out


def test_a_rejected_application_says_why_and_issues_nothing(client, cli):
    app_id, secret = _apply(client)
    code, _ = cli("applications", "reject", str(app_id), "--by", "审核员甲", "--reason", "用途与数据范围不符")
    assert code == 0
    status = client.post(f"/api/operation/applications/{app_id}/status", json={"secret": secret}).json()["result"]
    assert status["status"] == "rejected" and status["decision"]["reason"] == "用途与数据范围不符"
    assert client.post(f"/api/operation/applications/{app_id}/credential", json={"secret": secret}).status_code == 409
    code, out = cli("applications", "approve", str(app_id), "--by", "审核员乙")
    assert code == 2 and "already decided" in out


def test_the_daily_quota_answers_429_with_retry_after(client, cli):
    app_id, secret = _apply(client)
    assert cli("applications", "approve", str(app_id), "--by", "审核员甲", "--quota", "2")[0] == 0
    token = _collect(client, app_id, secret)
    sql = {"sql": "select count(*) as trips from taxi_trips"}
    assert [client.post("/api/operation/zone/queries", json=sql, headers=_auth(token)).status_code
            for _ in range(2)] == [202, 202]
    r = client.post("/api/operation/zone/queries", json=sql, headers=_auth(token))
    assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 86400
    code, out = cli("zone", "submit", sql["sql"], "--key", token)
    assert code == 2 and "quota" in out


def test_the_zone_from_the_command_line_and_after_expiry(client, cli, monkeypatch):
    app_id, secret = _apply(client)
    assert cli("applications", "approve", str(app_id), "--by", "审核员甲", "--to", "2027-01-31")[0] == 0
    token = _collect(client, app_id, secret)
    code, out = cli("zone", "submit", "select district, count(*) as trips from taxi_trips group by district",
                    "--key", token)
    assert code == 0 and '"status": "safe"' in out and '"released": false' in out
    code, out = cli("zone", "submit", "select * from read_csv('/etc/passwd')", "--key", token)
    assert code == 1 and "read_csv is not allowed" in out
    monkeypatch.setattr(operation.store, "today", lambda: date(2027, 2, 1))
    r = client.post("/api/operation/zone/queries", json={"sql": "select count(*) from taxi_trips"},
                    headers=_auth(token))
    assert r.status_code == 403 and "expired on 2027-01-31" in r.text
    assert cli("zone", "submit", "select count(*) from taxi_trips", "--key", token)[0] == 3


def test_a_download_authorisation_opens_its_dataset_until_it_expires(client, cli, monkeypatch):
    app_id, secret = _apply(client, mode="download", datasets={"taxi_trips": []})
    assert cli("applications", "approve", str(app_id), "--by", "审核员甲", "--to", "2027-06-30")[0] == 0
    token = _collect(client, app_id, secret)
    assert client.get("/dataset/taxi_trips/download.csv", headers=_auth(token)).status_code == 200
    r = client.get("/api/3/action/datastore_search", params={"resource_id": "taxi_trips", "limit": 5},
                   headers=_auth(token))
    assert r.status_code == 200 and len(r.json()["result"]["records"]) == 5
    # a download credential is not a zone credential
    assert client.post("/api/operation/zone/queries", json={"sql": "select count(*) from taxi_trips"},
                       headers=_auth(token)).status_code == 403
    monkeypatch.setattr(operation.store, "today", lambda: date(2027, 7, 1))
    expired = client.get("/dataset/taxi_trips/download.csv", headers=_auth(token))
    assert expired.status_code == 403 and "expired on 2027-06-30" in expired.text
    # and before its period starts
    monkeypatch.setattr(operation.store, "today", lambda: date(2026, 11, 30))
    assert client.get("/dataset/taxi_trips/download.csv", headers=_auth(token)).status_code == 403
    code, _ = cli("applications", "revoke", str(app_id), "--by", "审核员甲")
    monkeypatch.undo()
    assert code == 0 and client.get("/dataset/taxi_trips/download.csv", headers=_auth(token)).status_code == 403


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_reviewers_log_in_and_decide_only_their_departments_applications(client, cli):
    assert cli("reviewers", "add", "jt_review", "--name", "交通审核员", "--department", "jtysj",
               "--password-stdin", stdin="correct horse battery\n")[0] == 0
    assert cli("reviewers", "add", "ga_review", "--name", "公安审核员", "--department", "gaj",
               "--password-stdin", stdin="another long secret\n")[0] == 0
    app_id, secret = _apply(client)
    client.cookies.clear()
    assert client.get("/review", follow_redirects=False).headers["location"] == "/review/login"
    page = client.get("/review/login")
    forged = client.post("/review/login", data={"username": "jt_review", "password": "correct horse battery",
                                                "csrf": "forged"})
    assert forged.status_code == 403
    wrong = client.post("/review/login", data={"username": "jt_review", "password": "wrong password!",
                                               "csrf": _csrf(page.text)})
    assert wrong.status_code == 403 and "不正确" in wrong.text

    other = TestClient(client.app)
    p = other.get("/review/login")
    other.post("/review/login", data={"username": "ga_review", "password": "another long secret", "csrf": _csrf(p.text)})
    assert other.get(f"/review/applications/{app_id}").status_code == 404

    r = client.post("/review/login", data={"username": "jt_review", "password": "correct horse battery",
                                           "csrf": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    detail = client.get(f"/review/applications/{app_id}")
    assert detail.status_code == 200 and APPLICATION["purpose"] in detail.text
    no_csrf = client.post(f"/review/applications/{app_id}/decision", data={"decision": "approve"},
                          follow_redirects=False)
    assert no_csrf.headers["location"] == "/review/login"
    done = client.post(f"/review/applications/{app_id}/decision", data={
        "csrf": _csrf(detail.text), "decision": "approve", "quota_per_day": "5", "mode": "zone",
        "period_start": "2026-12-01", "period_end": "2027-03-31", "conditions": "成果仅用于运力报告"})
    assert done.status_code == 200 and "已批准" in done.text
    status = client.post(f"/api/operation/applications/{app_id}/status", json={"secret": secret}).json()["result"]
    assert status["decision"]["reviewer"] == "交通审核员（jt_review）"
    assert status["decision"]["scope"]["quota_per_day"] == 5 and status["decision"]["conditions"] == "成果仅用于运力报告"
    client.get("/review/logout")
    assert client.get("/review", follow_redirects=False).status_code == 303
