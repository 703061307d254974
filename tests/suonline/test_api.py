"""The Su Online API: keys, errors, manifest, paging, change feed, the ID-number guard and the access log."""

import hashlib
import io

import openpyxl
import pyarrow.parquet as pq
import pytest

from sudata import units

from .conftest import (SPECS, SUONLINE, VERSIONS, WITHHELD, auth, dumps, expected_rows, jsonish_row, records_all,
                       served)

STREET, DISTRICT = "320508021", "320508"


def _key(spec, row):
    return tuple(row[k] for k in spec.primary_key)


def _error(r, status, type_):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["error"]["__type"] == type_ and body["error"]["message"]
    return body["error"]["message"]


# -- units and authentication ----------------------------------------------------------------------

def test_units_list_is_public(client):
    r = client.get("/suonline/units")
    assert r.status_code == 200
    result = r.json()["result"]
    assert result["count"] == 128 and len(result["units"]) == 128
    gusu = next(u for u in result["units"] if u["code"] == DISTRICT)
    assert gusu["level"] == "district" and gusu["name"] == "姑苏区" and len(gusu["street_codes"]) == 8
    assert client.get("/suonline/units", params={"level": "street"}).json()["result"]["count"] == 118
    assert client.get("/suonline/units", params={"level": "district"}).json()["result"]["count"] == 10
    _error(client.get("/suonline/units", params={"level": "city"}), 409, "Validation Error")


@pytest.mark.parametrize("style", ["raw", "bearer", "ckan"])
def test_key_headers(world, client, style):
    key = world.keys[STREET]
    headers = {"raw": {"Authorization": key}, "bearer": {"Authorization": f"Bearer {key}"},
               "ckan": {"X-CKAN-API-Key": key}}[style]
    r = client.get(f"/suonline/units/{STREET}/manifest", headers=headers)
    assert r.status_code == 200 and r.json()["success"] is True


def test_query_key_only_for_the_page(world, client):
    msg = _error(client.get(f"/suonline/units/{STREET}/manifest", params={"key": world.keys[STREET]}),
                 403, "Authorization Error")
    assert "required" in msg


def test_revoked_and_expired_keys_are_refused(world, client):
    fresh = world.access.issue("unit", STREET, "临时")
    expired = world.access.issue("unit", STREET, "过期", expires_at="2024-01-01T00:00:00+00:00")
    future = world.access.issue("unit", STREET, "未过期", expires_at="2999-01-01T00:00:00+00:00")
    paths = [f"/suonline/units/{STREET}/manifest", f"/suonline/units/{STREET}/datasets/enterprise_registrations",
             f"/suonline/units/{STREET}/datasets/enterprise_registrations/changes?since=1",
             f"/suonline/units/{STREET}/workbook.xlsx"]
    for p in paths:
        assert client.get(p, headers=auth(fresh)).status_code == 200
        assert client.get(p, headers=auth(future)).status_code == 200
        assert "revoked or expired" in _error(client.get(p, headers=auth(expired)), 403, "Authorization Error")
    key_id = next(k["id"] for k in world.access.list() if k["holder"] == "临时")
    assert world.access.revoke(key_id)
    for p in paths:
        assert "revoked or expired" in _error(client.get(p, headers=auth(fresh)), 403, "Authorization Error")
    r = client.get(f"/suonline/units/{STREET}", headers=auth(fresh))
    assert r.status_code == 403 and 'name="key"' in r.text


def test_a_street_key_does_not_open_its_district(world, client):
    msg = _error(client.get(f"/suonline/units/{DISTRICT}/manifest", headers=auth(world.keys[STREET])),
                 403, "Authorization Error")
    assert msg == f"Authorization Error: the key of unit {STREET} does not open unit {DISTRICT}"  # CKAN form


def test_not_found_and_validation_errors(world, client):
    key = world.keys[STREET]
    for code in ("320599", "320508999", "abc", "3205"):
        _error(client.get(f"/suonline/units/{code}/manifest", headers=auth(key)), 404, "Not Found Error")
        _error(client.get(f"/suonline/units/{code}/datasets/air_quality_daily", headers=auth(key)), 404,
               "Not Found Error")
    for name in ("bus_routes", "no_such_dataset"):
        _error(client.get(f"/suonline/units/{STREET}/datasets/{name}", headers=auth(key)), 404, "Not Found Error")
        _error(client.get(f"/suonline/units/{STREET}/datasets/{name}/changes", headers=auth(key)), 404,
               "Not Found Error")
    base = f"/suonline/units/{STREET}/datasets/enterprise_registrations"
    for params in ({"limit": 0}, {"limit": "x"}, {"limit": 10_001}, {"offset": -1}, {"offset": "1.5"},
                   {"offset": str(2**63)}, {"offset": str(2**70)}, {"format": "xml"}):
        _error(client.get(base, params=params, headers=auth(key)), 409, "Validation Error")
    for since in ("x", "0", "3", "99"):
        _error(client.get(base + "/changes", params={"since": since}, headers=auth(key)), 409, "Validation Error")
    msg = _error(client.get(f"/suonline/units/{STREET}/datasets/social_assistance_recipients/changes",
                            headers=auth(key)), 409, "Validation Error")
    assert "since is required" in msg
    # Authentication comes before anything about datasets.
    _error(client.get(f"/suonline/units/{STREET}/datasets/no_such_dataset"), 403, "Authorization Error")


# -- manifest, paging, downloads -------------------------------------------------------------------

@pytest.mark.parametrize("code", [DISTRICT, STREET, "320583104", "320576"])
def test_manifest(world, client, code):
    unit = units.get(code)
    r = client.get(f"/suonline/units/{code}/manifest", headers=auth(world.keys[code]))
    assert r.status_code == 200
    m = r.json()["result"]
    assert m["unit"]["code"] == code and m["unit"]["full_name"] == unit.full_name
    assert [d["name"] for d in m["datasets"]] == sorted(SUONLINE)
    assert m["delivered_at"] == "2024-06-03T02:12:00+08:00"
    for d in m["datasets"]:
        spec, name = SPECS[d["name"]], d["name"]
        current = max(VERSIONS[name])
        assert d["version"] == current and d["open_type"] == spec.open_type and d["title"] == spec.title
        assert d["primary_key"] == list(spec.primary_key)
        assert d["row_count"] == len(expected_rows(spec, world.current(name), unit))
        slice_row = next(s for s in world.store.slices(name, current) if s["unit_code"] == code)
        path = world.store.path(slice_row["path"])
        assert d["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == slice_row["sha256"]
        assert d["bytes"] == path.stat().st_size
        assert d["withheld_columns"] == sorted(WITHHELD.get(name, ()))
        assert d["arrived_tonight"] is (current == 2)
        if current == 1:
            assert d["previous_version"] is None and d["changes"] is None and d["links"]["changes"] is None
        else:
            old = {_key(spec, r): jsonish_row(r) for r in expected_rows(spec, world.rows[name][1], unit)}
            new = {_key(spec, r): jsonish_row(r) for r in expected_rows(spec, world.rows[name][2], unit)}
            assert d["previous_version"] == 1
            assert d["changes"] == {"added": len(new.keys() - old.keys()), "removed": len(old.keys() - new.keys()),
                                    "changed": sum(1 for k in new.keys() & old.keys() if new[k] != old[k])}
            assert d["links"]["changes"].endswith(f"/suonline/units/{code}/datasets/{name}/changes?since=1")
        if not d["withheld_columns"]:
            p = client.get(d["links"]["parquet"], headers=auth(world.keys[code]))
            assert p.status_code == 200 and hashlib.sha256(p.content).hexdigest() == d["sha256"]
            assert p.headers["etag"] == f'"{d["sha256"]}"'
            assert pq.read_table(io.BytesIO(p.content)).num_rows == d["row_count"]
    assert m["totals"]["rows"] == sum(d["row_count"] for d in m["datasets"])
    assert m["totals"]["added"] == sum((d["changes"] or {}).get("added", 0) for d in m["datasets"])


def test_paging(world, client):
    spec = SPECS["enterprise_registrations"]
    key = world.keys[DISTRICT]
    full = records_all(client, DISTRICT, spec.name, key)
    assert full["total"] > 20
    pages, url, params = [], f"/suonline/units/{DISTRICT}/datasets/{spec.name}", {"limit": 7}
    while url:
        r = client.get(url, params=params, headers=auth(key)).json()["result"]
        assert r["total"] == full["total"] and len(r["records"]) <= 7
        pages += r["records"]
        url, params = r["_links"]["next"], None
    assert pages == full["records"]
    keys = [r["uscc"] for r in pages]
    assert keys == sorted(keys)
    beyond = client.get(url or f"/suonline/units/{DISTRICT}/datasets/{spec.name}",
                        params={"offset": full["total"] + 5}, headers=auth(key)).json()["result"]
    assert beyond["records"] == [] and beyond["_links"]["next"] is None
    assert [f["title"] for f in full["fields"]] == [c[2] for c in spec.columns]


# -- change feed -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["enterprise_registrations", "elderly_care_facilities", "air_quality_daily"])
def test_change_feed_for_every_unit(world, client, name):
    spec = SPECS[name]
    seen = {"added": 0, "changed": 0, "removed": 0}
    for unit in units.all_units():
        old = {_key(spec, s): s for s in (served(spec, r) for r in expected_rows(spec, world.rows[name][1], unit))}
        new = {_key(spec, s): s for s in (served(spec, r) for r in expected_rows(spec, world.rows[name][2], unit))}
        r = client.get(f"/suonline/units/{unit.code}/datasets/{name}/changes", params={"since": 1},
                       headers=auth(world.keys[unit.code]))
        assert r.status_code == 200, r.text
        c = r.json()["result"]
        assert (c["since"], c["version"], c["primary_key"]) == (1, 2, list(spec.primary_key))
        # Exact sets, with the rows' values.
        assert sorted(dumps(x) for x in c["added"]) == sorted(dumps(new[k]) for k in new.keys() - old.keys())
        assert sorted(dumps(x) for x in c["removed"]) == sorted(dumps(old[k]) for k in old.keys() - new.keys())
        changed = {k for k in new.keys() & old.keys() if new[k] != old[k]}
        assert sorted(dumps(x["after"]) for x in c["changed"]) == sorted(dumps(new[k]) for k in changed)
        assert sorted(dumps(x["before"]) for x in c["changed"]) == sorted(dumps(old[k]) for k in changed)
        for x in c["changed"]:
            k = _key(spec, x["after"])
            assert x["key"] == {p: x["after"][p] for p in spec.primary_key}
            assert x["columns"] == [col for col in new[k] if new[k][col] != old[k][col]]
        assert c["counts"] == {"added": len(c["added"]), "changed": len(c["changed"]), "removed": len(c["removed"])}
        for k in seen:
            seen[k] += c["counts"][k]
        if unit.level == units.DISTRICT:
            # The default is the previous version; since the current version nothing changed.
            again = client.get(f"/suonline/units/{unit.code}/datasets/{name}/changes",
                               headers=auth(world.keys[unit.code])).json()["result"]
            assert again["counts"] == c["counts"] and again["since"] == 1
            none = client.get(f"/suonline/units/{unit.code}/datasets/{name}/changes", params={"since": 2},
                              headers=auth(world.keys[unit.code])).json()["result"]
            assert none["counts"] == {"added": 0, "changed": 0, "removed": 0}
    assert all(seen.values())


def test_moved_enterprise_leaves_one_street_and_enters_another(world, client):
    spec = SPECS["enterprise_registrations"]
    v1 = {r["uscc"]: r for r in world.rows[spec.name][1]}
    moved = [r for r in world.rows[spec.name][2]
             if r["uscc"] in v1 and v1[r["uscc"]]["street_code"] != r["street_code"] and v1[r["uscc"]]["street_code"]]
    assert moved
    r = moved[0]
    before, after = v1[r["uscc"]]["street_code"], r["street_code"]
    out = client.get(f"/suonline/units/{before}/datasets/{spec.name}/changes?since=1",
                     headers=auth(world.keys[before])).json()["result"]
    into = client.get(f"/suonline/units/{after}/datasets/{spec.name}/changes?since=1",
                      headers=auth(world.keys[after])).json()["result"]
    assert r["uscc"] in {x["uscc"] for x in out["removed"]}
    assert r["uscc"] in {x["uscc"] for x in into["added"]}


# -- the ID-number guard ---------------------------------------------------------------------------

def test_clear_id_numbers_are_never_served(world, client):
    name = "social_assistance_recipients"
    ids = {r["guardian_id_number"] for r in world.rows[name][1] if r["guardian_id_number"]}
    assert ids
    for unit in units.all_units():
        key = world.keys[unit.code]
        r = client.get(f"/suonline/units/{unit.code}/datasets/{name}", params={"limit": 10_000}, headers=auth(key))
        result = r.json()["result"]
        assert result["withheld_columns"] == ["guardian_id_number"]
        assert all("guardian_id_number" not in rec for rec in result["records"])
        texts = [r.text]
        if unit.level == units.DISTRICT:
            texts.append(client.get(f"/suonline/units/{unit.code}/manifest", headers=auth(key)).text)
            texts.append(client.get(f"/suonline/units/{unit.code}", headers=auth(key)).text)
            wb = client.get(f"/suonline/units/{unit.code}/workbook.xlsx", headers=auth(key))
            book = openpyxl.load_workbook(io.BytesIO(wb.content), read_only=True)
            texts.append(" ".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
                                  for v in row if v is not None))
            _error(client.get(f"/suonline/units/{unit.code}/datasets/{name}", params={"format": "parquet"},
                              headers=auth(key)), 403, "Authorization Error")
        for text in texts:
            assert not any(i in text for i in ids)
    # Pseudonymised identifiers are served.
    district = records_all(client, DISTRICT, name, world.keys[DISTRICT])
    assert district["records"] and all(len(r["recipient_key"]) > 0 for r in district["records"])


# -- access log ------------------------------------------------------------------------------------

def test_every_read_is_logged(world, client):
    before = world.access.access_log(limit=1)[0]["id"] if world.access.access_log(limit=1) else 0
    key = world.keys["320583104"]
    client.get("/suonline/units/320583104/manifest", headers=auth(key))
    client.get("/suonline/units/320583104/datasets/elderly_care_facilities", params={"limit": 1}, headers=auth(key))
    client.get("/suonline/units/320583104/datasets/air_quality_daily/changes?since=1", headers=auth(key))
    client.get("/suonline/units/320583104/workbook.xlsx", headers=auth(key))
    client.get("/suonline/units/320583/manifest", headers=auth(key))
    client.get("/suonline/units/320583104/manifest", headers=auth("sd_forged"))
    client.get("/suonline/units/320583104/datasets/nope", headers=auth(key))
    log = [e for e in reversed(world.access.access_log(limit=50)) if e["id"] > before]
    key_id = next(k["id"] for k in world.access.list() if k["scope"] == "320583104")
    got = [(e["action"], e["target"], e["status"], e["key_id"]) for e in log]
    assert got == [
        ("suonline.manifest", "320583104", 200, key_id),
        ("suonline.slice", "320583104/elderly_care_facilities", 200, key_id),
        ("suonline.changes", "320583104/air_quality_daily", 200, key_id),
        ("suonline.workbook", "320583104", 200, key_id),
        ("suonline.manifest", "320583", 403, key_id),
        ("suonline.manifest", "320583104", 403, None),
        ("suonline.slice", "320583104/nope", 404, key_id),
    ]
    assert log[1]["rows"] == 1 and log[0]["rows"] == len(SUONLINE)
    assert all(e["scope"] == "320583104" and e["scope_type"] == "unit" for e in log if e["key_id"])


def test_anonymous_requests_do_not_fill_the_log(world, client):
    before = world.access.access_log(limit=1)[0]["id"] if world.access.access_log(limit=1) else 0
    for code in ("320599", "999999999", "abc"):
        assert client.get(f"/suonline/units/{code}/manifest").status_code == 404
        assert client.get(f"/suonline/units/{code}").status_code == 404
    assert client.get("/suonline/units").status_code == 200
    assert client.get("/suonline/units/320583104").status_code == 403  # the login page, nothing presented
    assert [e for e in world.access.access_log(limit=50) if e["id"] > before] == []
    # a presented key is logged even when refused
    client.get("/suonline/units/320583104/manifest", headers=auth("sd_forged"))
    assert [(e["status"], e["key_id"]) for e in world.access.access_log(limit=50) if e["id"] > before] == [(403, None)]
