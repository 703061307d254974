"""The slice writer the publication step calls: one checksummed Parquet file per unit, right rows only."""

import hashlib

import duckdb
import pyarrow.parquet as pq
import pytest

from sudata import units
from sudata.slicing import write_slices

from .conftest import SPECS, SUONLINE, VERSIONS, dumps, expected_rows, jsonish_row, row_units, write_parquet


def _rows(path) -> list[str]:
    return sorted(dumps(jsonish_row(r)) for r in pq.read_table(path).to_pylist())


def _expected(spec, rows, unit) -> list[str]:
    return sorted(dumps(jsonish_row(r)) for r in expected_rows(spec, rows, unit))


@pytest.mark.parametrize("name", SUONLINE)
def test_one_checksummed_slice_per_unit_and_version(world, name):
    for version in VERSIONS[name]:
        slices = world.store.slices(name, version)
        assert [s["unit_code"] for s in slices] == sorted(u.code for u in units.all_units())
        for s in slices:
            unit = units.get(s["unit_code"])
            assert s["unit_level"] == unit.level
            path = world.store.path(s["path"])
            assert path.name == f"{unit.code}.parquet" and path.parent.name == "suonline"
            assert path.parent.parent.name == f"v{version:06d}"
            assert hashlib.sha256(path.read_bytes()).hexdigest() == s["sha256"]
            assert pq.read_metadata(path).num_rows == s["row_count"]


@pytest.mark.parametrize("name", SUONLINE)
def test_each_slice_holds_exactly_its_jurisdiction(world, name):
    spec = SPECS[name]
    for version in VERSIONS[name]:
        rows = world.rows[name][version]
        for s in world.store.slices(name, version):
            unit = units.get(s["unit_code"])
            assert _rows(world.store.path(s["path"])) == _expected(spec, rows, unit), (name, version, unit.code)


@pytest.mark.parametrize("name", SUONLINE)
def test_district_slice_is_union_of_its_streets(world, name):
    spec = SPECS[name]
    for version in VERSIONS[name]:
        by_unit = {s["unit_code"]: _rows(world.store.path(s["path"])) for s in world.store.slices(name, version)}
        rows = world.rows[name][version]
        delivered = 0
        for d in units.districts():
            streets = [by_unit[s.code] for s in units.streets_of(d.code)]
            if spec.scope_column == "district_code":
                assert all(st == by_unit[d.code] for st in streets)     # a street sees its district's rows
            else:
                union = sorted(r for st in streets for r in st)
                unlocated = sorted(dumps(jsonish_row(r)) for r in rows
                                   if row_units(spec, r) == (None, d.code))
                assert sorted(union + unlocated) == by_unit[d.code]
                assert len(set(union)) == len(union)                   # no row in two streets
            delivered += len(by_unit[d.code])
        located = [r for r in rows if row_units(spec, r)[1] is not None]
        assert delivered == len(located) < len(rows)                   # rows with no known place reach nobody


def test_slices_sorted_by_primary_key(world):
    for name in SUONLINE:
        pk = SPECS[name].primary_key
        for s in world.store.slices(name, 2 if 2 in VERSIONS[name] else 1):
            keys = [tuple(r[k] for k in pk) for r in pq.read_table(world.store.path(s["path"])).to_pylist()]
            assert keys == sorted(keys)


def test_not_delivered_dataset_has_no_slices(world):
    assert world.store.slices("bus_routes", 1) == []


def test_from_a_duckdb_connection_matches_the_parquet_path(world, tmp_path):
    spec = SPECS["enterprise_registrations"]
    data = tmp_path / "data.parquet"
    write_parquet(spec, world.rows[spec.name][2], data)
    con = duckdb.connect()
    con.execute(f"create table mart as select * from read_parquet('{data}')")
    # The publication step's call: its connection, the version's Parquet file, the slice directory.
    from_file = write_slices(con, data, tmp_path / "a" / "suonline", "street_code", primary_key=list(spec.primary_key))
    from_query = write_slices(con, "select * from mart", tmp_path / "b" / "suonline", "street_code",
                              primary_key=["uscc"])
    assert con.execute("select count(*) from duckdb_tables() where temporary").fetchone()[0] == 0  # cleaned up
    assert from_file[0]["path"] == "suonline/320505.parquet"
    assert [(s["unit_code"], s["unit_level"], s["row_count"], s["path"]) for s in from_query] == \
           [(s["unit_code"], s["unit_level"], s["row_count"], s["path"]) for s in from_file]
    for a, b in zip(from_file, from_query):
        assert _rows(tmp_path / "a" / a["path"]) == _rows(tmp_path / "b" / b["path"])
        assert pq.read_schema(tmp_path / "a" / a["path"]).equals(pq.read_schema(tmp_path / "b" / b["path"]))


def test_integer_codes_and_a_table_name(tmp_path):
    con = duckdb.connect()
    con.execute("create table t as select * from (values (1, 320508021), (2, 320508022), (3, 320583100)) v(id, street_code)")
    slices = {s["unit_code"]: s for s in write_slices(con, "t", tmp_path / "s", "street_code", primary_key=["id"])}
    assert slices["320508021"]["row_count"] == 1 and slices["320508"]["row_count"] == 2
    assert slices["320583"]["row_count"] == 1 and slices["320585"]["row_count"] == 0
    assert pq.read_table(tmp_path / slices["320508"]["path"]).column_names == ["id", "street_code"]
    assert pq.read_metadata(tmp_path / slices["320585"]["path"]).num_rows == 0   # empty slices are written too


def test_rejects_bad_arguments(tmp_path):
    con = duckdb.connect()
    con.execute("create table t as select 1 as id, '320508021' as street_code")
    with pytest.raises(ValueError, match="scope column"):
        write_slices(con, "t", tmp_path, "community_code")
    with pytest.raises(ValueError, match="no scope column"):
        write_slices(con, "t", tmp_path, "district_code")
    with pytest.raises(ValueError, match="primary key"):
        write_slices(con, "t", tmp_path, "street_code", primary_key=["nope"])


@pytest.mark.parametrize("scope", ["street_code", "district_code"])
def test_large_slices_keep_key_order_across_row_groups(tmp_path, scope):
    # rows inserted in random key order, several row groups per unit, two threads: the order of a slice
    # comes from the sort the slicing does, not from how the rows were delivered
    con = duckdb.connect(config={"threads": 2})
    con.execute("create table t as select i as id, if(i % 2 = 0, '320508021', '320508022') as street_code,"
                " '320508' as district_code from range(600000) r(i) order by hash(i)")
    slices = write_slices(con, "t", tmp_path / "s", scope, primary_key=["id"])
    for code in ("320508", "320508021"):
        path = tmp_path / next(s["path"] for s in slices if s["unit_code"] == code)
        assert pq.read_metadata(path).num_row_groups > 1
        ids = pq.read_table(path).column("id").to_pylist()
        assert ids == sorted(ids) and len(ids) == (600000 if code == "320508" or scope == "district_code" else 300000)
