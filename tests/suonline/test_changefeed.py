"""Row diffs between published versions, by primary key."""

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portal import changefeed
from sudata import units
from portal.changefeed import ChangeFeedError, count_changes, diff, diff_versions

from .conftest import SPECS, expected_rows, jsonish_row


def _write(path, rows, schema=None):
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def oracle(spec, old_rows, new_rows):
    """Expected change sets computed in Python from the fixture rows."""
    def keyed(rows):
        return {tuple(r[k] for k in spec.primary_key): jsonish_row(r) for r in rows}
    old, new = keyed(old_rows), keyed(new_rows)
    added = sorted(k for k in new if k not in old)
    removed = sorted(k for k in old if k not in new)
    cols = [c[0] for c in spec.columns]
    changed = {k: [c for c in cols if new[k][c] != old[k][c]] for k in new if k in old and new[k] != old[k]}
    return added, changed, removed, old, new


def _key(spec, row):
    return tuple(row[k] for k in spec.primary_key)


def test_small_diff_exact(tmp_path):
    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("beds", pa.int64()), ("phone", pa.string())])
    old = _write(tmp_path / "old.parquet", [
        {"id": 1, "name": "a", "beds": 10, "phone": None},
        {"id": 2, "name": "b", "beds": 20, "phone": "1"},
        {"id": 3, "name": "c", "beds": 30, "phone": None},
        {"id": 4, "name": "d", "beds": 40, "phone": "4"},
    ], schema)
    new = _write(tmp_path / "new.parquet", [
        {"id": 5, "name": "e", "beds": 50, "phone": None},
        {"id": 1, "name": "a", "beds": 10, "phone": "9"},      # null -> value
        {"id": 3, "name": "c", "beds": 30, "phone": None},     # null == null: unchanged
        {"id": 4, "name": "D", "beds": 41, "phone": None},     # two columns, value -> null
    ], schema)
    cs = diff(old, new, ["id"])
    assert [r["id"] for r in cs.added] == [5] and cs.added[0] == {"id": 5, "name": "e", "beds": 50, "phone": None}
    assert [r["id"] for r in cs.removed] == [2] and cs.removed[0]["name"] == "b"
    assert [(c["key"], c["columns"]) for c in cs.changed] == [({"id": 1}, ["phone"]), ({"id": 4}, ["name", "beds", "phone"])]
    assert cs.changed[1]["before"] == {"id": 4, "name": "d", "beds": 40, "phone": "4"}
    assert cs.changed[1]["after"] == {"id": 4, "name": "D", "beds": 41, "phone": None}
    assert cs.counts() == {"added": 1, "changed": 2, "removed": 1} == count_changes(old, new, ["id"])
    # Excluding a column hides it from rows and from the comparison.
    ex = diff(old, new, ["id"], exclude=["phone"])
    assert [c["key"]["id"] for c in ex.changed] == [4] and "phone" not in ex.changed[0]["after"]
    assert "phone" not in ex.added[0] and count_changes(old, new, ["id"], exclude=["phone"])["changed"] == 1


def test_composite_key_schema_drift_and_missing_sides(tmp_path):
    d1, d2 = dt.date(2024, 6, 1), dt.date(2024, 6, 2)
    old = _write(tmp_path / "o.parquet", [{"district_code": "320508", "date": d1, "aqi": 50, "note": "x"},
                                          {"district_code": "320508", "date": d2, "aqi": 60, "note": "y"}])
    new = _write(tmp_path / "n.parquet", [{"district_code": "320508", "date": d1, "aqi": "50", "station": 3},
                                          {"district_code": "320508", "date": d2, "aqi": "61", "station": 3}])
    cs = diff(old, new, ["district_code", "date"])
    assert cs.columns_added == ["station"] and cs.columns_removed == ["note"]
    # aqi changed type (integer -> text): compared as text, so only the second row differs.
    assert [(c["key"]["date"], c["columns"]) for c in cs.changed] == [(d2, ["aqi"])]
    first = diff(None, new, ["district_code", "date"])
    assert len(first.added) == 2 and not first.changed and not first.removed
    gone = diff(old, None, ["district_code", "date"])
    assert len(gone.removed) == 2 and not gone.added
    assert diff(None, None, ["x"]).counts() == {"added": 0, "changed": 0, "removed": 0}


def test_errors(tmp_path):
    dup = _write(tmp_path / "dup.parquet", [{"id": 1, "v": 1}, {"id": 1, "v": 2}])
    ok = _write(tmp_path / "ok.parquet", [{"id": 1, "v": 1}])
    with pytest.raises(ChangeFeedError, match="more than once"):
        diff(ok, dup, ["id"])
    with pytest.raises(ChangeFeedError, match="missing"):
        diff(ok, ok, ["nope"])
    with pytest.raises(ChangeFeedError, match="primary key"):
        diff(ok, ok, [])
    with pytest.raises(ChangeFeedError, match="excluded"):
        diff(ok, ok, ["id"], exclude=["id"])


@pytest.mark.parametrize("name", ["enterprise_registrations", "elderly_care_facilities", "air_quality_daily"])
def test_whole_version_diff_matches_fixture(world, name):
    spec = SPECS[name]
    added, changed, removed, old, new = oracle(spec, world.rows[name][1], world.rows[name][2])
    assert added and changed and removed
    cs = diff_versions(world.store, name, 1)        # to the current version
    assert [_key(spec, r) for r in cs.added] == added
    assert [_key(spec, r) for r in cs.removed] == removed
    assert {_key(spec, c["key"]): c["columns"] for c in cs.changed} == changed
    assert all(jsonish_row(r) == new[_key(spec, r)] for r in cs.added)
    assert all(jsonish_row(r) == old[_key(spec, r)] for r in cs.removed)


@pytest.mark.parametrize("name", ["enterprise_registrations", "elderly_care_facilities", "air_quality_daily"])
def test_unit_diffs_match_fixture(world, name):
    """Every district and the streets of two districts (the API test covers every unit)."""
    spec = SPECS[name]
    totals = {"added": 0, "changed": 0, "removed": 0}
    for unit in [*units.districts(), *units.streets_of("320508"), *units.streets_of("320583")]:
        added, changed, removed, old, new = oracle(
            spec, expected_rows(spec, world.rows[name][1], unit), expected_rows(spec, world.rows[name][2], unit))
        cs = diff_versions(world.store, name, 1, 2, unit_code=unit.code)
        assert [_key(spec, r) for r in cs.added] == added, unit.code
        assert [_key(spec, r) for r in cs.removed] == removed, unit.code
        assert {_key(spec, c["key"]): c["columns"] for c in cs.changed} == changed, unit.code
        assert all(jsonish_row(c["after"]) == new[_key(spec, c["key"])] for c in cs.changed)
        for k, v in cs.counts().items():
            totals[k] += v
    assert all(totals.values())


def test_primary_key_from_meta_or_schema():
    assert changefeed.primary_key_of({"meta": {"catalog": {"primary_key": ["a", "b"]}}}) == ["a", "b"]
    assert changefeed.primary_key_of({"meta": {"primary_key": "a"}}) == ["a"]
    assert changefeed.primary_key_of({"meta": {}}, {"schema": {"primaryKey": ["z"]}}) == ["z"]
    assert changefeed.primary_key_of({"meta": {}}) == []


def test_unknown_versions(world):
    with pytest.raises(ChangeFeedError, match="no version 9"):
        diff_versions(world.store, "air_quality_daily", 9)
    with pytest.raises(ChangeFeedError, match="unknown dataset"):
        diff_versions(world.store, "nope", 1)
