"""Isolation: every unit's key returns exactly its jurisdiction's rows, and opens nothing else.

For each of the 128 units and each Su Online dataset, the unit's own key fetches its slice through the
API and must get exactly the rows that concern it (computed from the fixture rows in Python). A
district's key must also get, for each of its streets, exactly that street's rows; a district gets the
union of its streets (plus the rows located only to the district). Requests for any other unit are
refused with CKAN's 403, whichever endpoint: the full 128 × 128 holder/unit decision table is checked in
``test_units.test_covers_every_pair``, and over HTTP every unit is tried with the near-miss keys (see
``_foreign_keys``) across all its endpoints, and with no key, a bad key and a dataset key.
"""

import pytest

from sudata import units

from .conftest import SPECS, SUONLINE, WITHHELD, auth, dumps, expected_rows, records_all, served

ENDPOINTS = ["manifest", "datasets/{name}", "datasets/{name}/changes?since=1", "workbook.xlsx", ""]


def _api_rows(client, code, name, key) -> tuple[list[str], dict]:
    result = records_all(client, code, name, key)
    assert result["total"] == len(result["records"]) and result["_links"]["next"] is None
    return sorted(dumps(r) for r in result["records"]), result


def _expected(world, name, unit) -> list[str]:
    spec = SPECS[name]
    return sorted(dumps(served(spec, r)) for r in expected_rows(spec, world.current(name), unit))


def _foreign_keys(unit: units.Unit) -> list[str]:
    """Keys that must not open ``unit``, near misses first: every other district's key, the keys of the
    neighbouring streets of the same district (for a district: of its first and last street), and a
    street key of the next district."""
    district_codes = [d.code for d in units.districts()]
    siblings = [s.code for s in units.streets_of(unit.district_code)]
    if unit.level == units.STREET:
        i = siblings.index(unit.code)
        near = [c for c in siblings[max(0, i - 1): i + 2] if c != unit.code]
    else:
        near = [siblings[0], siblings[-1]]
    next_district = district_codes[(district_codes.index(unit.district_code) + 1) % len(district_codes)]
    codes = set(district_codes) | set(near) | {units.streets_of(next_district)[0].code}
    return sorted(c for c in codes if not units.covers(c, unit.code))


@pytest.mark.parametrize("code", [u.code for u in units.all_units()])
def test_unit_key_gets_exactly_its_rows(world, client, code):
    unit = units.get(code)
    key = world.keys[code]
    for name in SUONLINE:
        got, result = _api_rows(client, code, name, key)
        assert got == _expected(world, name, unit), (code, name)
        assert set(result["withheld_columns"]) == WITHHELD.get(name, set())
        assert [f["id"] for f in result["fields"]] == [c[0] for c in SPECS[name].columns
                                                      if c[0] not in WITHHELD.get(name, ())]
        spec = SPECS[name]
        # Every served row is in this unit's jurisdiction, checked column by column.
        for r in result["records"]:
            if spec.scope_column == "district_code" or unit.level == units.DISTRICT:
                district = r.get("district_code") or (r.get("street_code") or "")[:6]
                street = r.get("street_code")
                located = (street is not None and units.find(street) is not None
                           and units.get(street).level == units.STREET)
                assert (units.get(street).district_code if located else district) == unit.district_code
            else:
                assert r["street_code"] == code


@pytest.mark.parametrize("code", [d.code for d in units.districts()])
def test_district_key_gets_each_street_exactly_and_the_union(world, client, code):
    key = world.keys[code]
    for name in SUONLINE:
        spec = SPECS[name]
        own, _ = _api_rows(client, code, name, key)
        union: list[str] = []
        for street in units.streets_of(code):
            got, _ = _api_rows(client, street.code, name, key)
            assert got == _expected(world, name, street), (street.code, name)
            if spec.scope_column == "district_code":
                assert got == own
            else:
                union += got
        if spec.scope_column == "street_code":
            assert set(union) <= set(own) and len(union) == len(set(union))
            rest = sorted(set(own) - set(union))
            # What the district has beyond its streets is exactly the rows with no known street.
            assert rest == sorted(dumps(served(spec, r)) for r in world.current(name)
                                  if (r.get("street_code") or None) not in {s.code for s in units.streets()}
                                  and dumps(served(spec, r)) in set(own))
            assert sorted(union + rest) == own


@pytest.mark.parametrize("code", [u.code for u in units.all_units()])
def test_other_keys_are_refused(world, client, code):
    unit = units.get(code)
    foreign = _foreign_keys(unit)
    assert foreign and all(not units.covers(c, code) for c in foreign)
    for i, holder in enumerate(foreign):
        path = ENDPOINTS[i % len(ENDPOINTS)].format(name=SUONLINE[i % len(SUONLINE)])
        r = client.get(f"/suonline/units/{code}/{path}".rstrip("/"), headers=auth(world.keys[holder]))
        assert r.status_code == 403, (holder, code, path)
        if path:
            assert r.json() == {"success": False, "error": {
                "__type": "Authorization Error",
                "message": f"Authorization Error: the key of unit {holder} does not open unit {code}"}}
        else:   # the HTML page: the key form, and none of the unit's data
            assert 'name="key"' in r.text and 'data-dataset="' not in r.text


def test_no_key_and_wrong_kinds_of_key_are_refused(world, client):
    dataset_key = world.access.issue("dataset", "enterprise_registrations", "某研究机构")
    for code in [u.code for u in units.all_units()]:
        for headers in ({}, auth("sd_not-a-key"), auth(dataset_key)):
            r = client.get(f"/suonline/units/{code}/datasets/enterprise_registrations", headers=headers)
            assert r.status_code == 403
            assert r.json()["error"]["__type"] == "Authorization Error"
