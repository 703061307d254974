"""Conditional open data (有条件开放): listed for everyone, rows and files only with a scoped key, every read logged."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest

from .synthetic import rows_for, spec


def _log(access, target: str) -> list[dict]:
    return [e for e in access.access_log(limit=10000) if e["target"] == target]


def test_conditional_datasets_are_listed_with_their_metadata(api):
    assert "taxi_operations" in api("package_list")
    pkg = api("package_show", id="taxi_operations")
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["open_type"] == "conditional" and extras["open_type_label"] == "有条件开放"
    assert pkg["isopen"] is False
    assert api("package_search", q="出租车")["count"] == 1


def test_rows_need_a_key(api, access):
    before = len(_log(access, "taxi_operations"))
    api.error("datastore_search", 403, "Authorization Error", resource_id="taxi_operations")
    api.error("datastore_search", 403, "Authorization Error", resource_id="taxi_operations",
              headers={"Authorization": "sd_not_a_real_key"})
    denied = _log(access, "taxi_operations")[: len(_log(access, "taxi_operations")) - before]
    assert {e["status"] for e in denied} == {403}


def test_a_key_of_another_dataset_is_refused(api, access):
    other = access.issue("dataset", "patient_visits", "某研究院")
    api.error("datastore_search", 403, "Authorization Error", resource_id="taxi_operations",
              headers={"Authorization": other})
    unit_key = access.issue("unit", "taxi_operations", "某街道")  # right name, wrong kind of scope
    api.error("datastore_search", 403, "Authorization Error", resource_id="taxi_operations",
              headers={"Authorization": unit_key})


def test_valid_key_reads_rows_and_every_read_is_logged(api, access):
    token = access.issue("dataset", "taxi_operations", "苏州大学交通研究所")
    expected = len(rows_for(spec("taxi_operations"), 2))
    r = api("datastore_search", resource_id="taxi_operations", limit=7, headers={"Authorization": token})
    assert r["total"] == expected and len(r["records"]) == 7
    # CKAN's older header and a Bearer prefix are accepted too
    r = api("datastore_search", resource_id="taxi_operations", limit=3, headers={"X-CKAN-API-Key": token})
    assert len(r["records"]) == 3
    r = api("datastore_search", resource_id="taxi_operations", limit=2, headers={"Authorization": f"Bearer {token}"})
    assert len(r["records"]) == 2
    entries = [e for e in _log(access, "taxi_operations") if e["holder"] == "苏州大学交通研究所" and e["status"] == 200]
    assert [e["rows"] for e in entries][:3] == [2, 3, 7]  # newest first
    assert all(e["action"] == "datastore_search" and e["scope"] == "taxi_operations" and e["at"] for e in entries)


def test_revoked_and_expired_keys_are_refused(api, access):
    token = access.issue("dataset", "taxi_operations", "临时合作单位")
    api("datastore_search", resource_id="taxi_operations", limit=1, headers={"Authorization": token})
    key_id = next(k["id"] for k in access.list() if k["holder"] == "临时合作单位")
    assert access.revoke(key_id)
    api.error("datastore_search", 403, "Authorization Error", resource_id="taxi_operations",
              headers={"Authorization": token})
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(timespec="seconds")
    expired = access.issue("dataset", "taxi_operations", "过期单位", expires_at=past)
    api.error("datastore_search", 403, "Authorization Error", resource_id="taxi_operations",
              headers={"Authorization": expired})
    future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat(timespec="seconds")
    valid = access.issue("dataset", "taxi_operations", "有效单位", expires_at=future)
    api("datastore_search", resource_id="taxi_operations", limit=1, headers={"Authorization": valid})


def test_files_need_a_key_and_downloads_are_logged(client, access):
    for ext in ("csv", "parquet", "json"):
        r = client.get(f"/dataset/taxi_operations/download.{ext}")
        assert r.status_code == 403 and r.json()["error"]["__type"] == "Authorization Error"
    r = client.get("/dataset/taxi_operations/version/1/download.csv")
    assert r.status_code == 403
    token = access.issue("dataset", "taxi_operations", "下载单位")
    r = client.get("/dataset/taxi_operations/download.csv", headers={"Authorization": token})
    assert r.status_code == 200 and r.headers["cache-control"].startswith("private")
    assert r.content.decode("utf-8-sig").count("\n") == len(rows_for(spec("taxi_operations"), 2)) + 1
    entry = next(e for e in _log(access, "taxi_operations") if e["holder"] == "下载单位")
    assert entry["action"] == "download.csv" and entry["rows"] == len(rows_for(spec("taxi_operations"), 2))
    # the metadata stays public: the data package describes columns, its data URLs need the key
    assert client.get("/dataset/taxi_operations/datapackage.json").status_code == 200


def test_unconditional_data_needs_no_key_and_is_not_logged(api, client, access):
    before = len(_log(access, "bus_routes"))
    api("datastore_search", resource_id="bus_routes", limit=1)
    assert client.get("/dataset/bus_routes/download.csv").status_code == 200
    assert len(_log(access, "bus_routes")) == before


def test_the_access_log_is_append_only(access):
    import sqlite3

    access.log(None, "datastore_search", "taxi_operations", 1, 200)
    with closing(access.connect()) as con:
        with pytest.raises(sqlite3.DatabaseError):
            con.execute("delete from access_log")
        with pytest.raises(sqlite3.DatabaseError):
            con.execute("update access_log set rows = 0")


def test_head_requests_are_not_logged_as_reads(client, access):
    token = access.issue("dataset", "taxi_operations", "只看表头的单位")
    r = client.head("/dataset/taxi_operations/download.csv", headers={"Authorization": token})
    assert r.status_code == 200 and r.content == b""
    mine = [e for e in _log(access, "taxi_operations") if e["holder"] == "只看表头的单位"]
    assert [(e["action"], e["rows"], e["status"]) for e in mine] == [("head.csv", None, 200)]


def test_a_refused_request_with_a_valid_key_is_logged(api, access):
    token = access.issue("dataset", "taxi_operations", "参数写错的单位")
    api.error("datastore_search", 409, "Validation Error", resource_id="taxi_operations",
              filters='{"no_such_column": 1}', headers={"Authorization": token})
    mine = [e for e in _log(access, "taxi_operations") if e["holder"] == "参数写错的单位"]
    assert [(e["action"], e["rows"], e["status"]) for e in mine] == [("datastore_search", None, 409)]
