"""The operation zone: the parser's refusals, the engine's own lockdown, output checking, releases."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from contextlib import closing

import pytest

from operation import applications, engine
from operation.disclosure import Rules
from operation.sqlcheck import QueryRefused, Table, check
from operation.store import OperationError
from operation.zone import Zone

from .conftest import APPLICATION

TABLES = {"taxi_trips": Table("taxi_trips", ("district", "category", "driver_name", "fare", "trip_date"),
                              frozenset({"driver_name"}))}


@pytest.mark.parametrize("sql, why", [
    ("select * from read_csv('/etc/passwd')", "read_csv is not allowed"),
    ("select count(*) from read_parquet('/srv/other.parquet')", "read_parquet is not allowed"),
    ("select count(*) from '/etc/passwd'", "not authorised"),
    ("attach '/tmp/x.duckdb' as x", "not ATTACH"),
    ("set enable_external_access = true", "not SET"),
    ("copy taxi_trips to '/tmp/out.csv'", "not COPY"),
    ("install httpfs", "not INSTALL"),
    ("load httpfs", "only a SELECT"),
    ("pragma database_list", "not PRAGMA"),
    ("select count(*) from resident_register", "'resident_register' is not authorised"),
    ("select count(plate) from taxi_trips", "'plate' of taxi_trips is not authorised"),
    ("select driver_name, count(*) from taxi_trips group by driver_name", "identifies persons"),
    ("select count(*) from taxi_trips where driver_name = '驾驶员01'", "identifies persons"),
    ("select max(driver_name) from taxi_trips", "identifies persons"),
    ("select count(case when driver_name = '驾驶员01' then 1 end) from taxi_trips", "identifies persons"),
    ("select count(distinct lower(driver_name)) from taxi_trips", "identifies persons"),
    ("select count(*) as driver_name from taxi_trips", "cannot name an output"),
    ("select district, fare from taxi_trips", "row-level"),
    ("select * from taxi_trips", "SELECT *"),
    ("select count(*) from taxi_trips; select 1", "exactly one statement"),
    ("select count(*) from taxi_trips /* harmless */; attach '/tmp/x' as x", "exactly one statement"),
    ("select count(*) from taxi_trips -- the end\n; copy taxi_trips to '/tmp/o.csv'", "exactly one statement"),
    ("select getenv('HOME'), count(*) from taxi_trips", "getenv is not allowed"),
    ("select current_setting('memory_limit'), count(*) from taxi_trips", "current_setting is not allowed"),
    ("select count(*) from (select * from taxi_trips)", "SUBQUERY is not allowed"),
    ("with t as (select 1) select count(*) from t", "WITH is not allowed"),
    ("select max(fare, 3) from taxi_trips", "individual values"),
])
def test_the_parser_refuses(sql, why):
    with pytest.raises(QueryRefused, match=why):
        check(sql, TABLES, max_rows=100)


def test_an_accepted_query_is_regenerated_with_hidden_checks_and_a_row_cap():
    q = check("select district, count(*) as trips, sum(fare) as total, count(distinct driver_name) drivers"
              " from taxi_trips /* a comment */ where trip_date >= date '2026-01-05' group by district", TABLES, 50)
    assert q.output_columns == ["district", "trips", "total", "drivers"]
    assert "comment" not in q.sql and "COUNT(*) AS __cell_n" in q.sql and q.sql.endswith("LIMIT 51")
    assert q.sums == {"total": [("__top2_2_0", "__abs_2_0")]}
    assert q.counts == {"trips": [("__n_1_0", True)], "total": [("__n_2_0", False)], "drivers": [("__n_3_0", True)]}


@pytest.fixture(scope="module")
def trips_file(published):
    current = published.current_version("taxi_trips")
    return published.path(current["path"]) / "data.parquet"


@pytest.mark.parametrize("sql", [
    "select * from read_csv('/etc/passwd')",
    "select * from read_parquet('{trips}')",          # the authorised file itself: its other columns
    "attach '/tmp/zone-attack.duckdb' as x",
    "copy (select 1) to '/tmp/zone-attack.csv'",
    "install httpfs",
    "load httpfs",
    "set enable_external_access = true",
    "select plate from taxi_trips",                    # not loaded into the engine at all
])
def test_the_engine_refuses_what_got_past_the_parser(sql, trips_file):
    views = [engine.View("taxi_trips", trips_file, ("district", "fare"))]
    with pytest.raises(engine.EngineError):
        engine.run(sql.format(trips=trips_file), views, max_rows=10, timeout=20)


def test_the_engine_answers_over_the_authorised_columns(trips_file):
    views = [engine.View("taxi_trips", trips_file, ("district", "fare"))]
    ok = engine.run("select count(*), sum(fare) > 0 from taxi_trips", views, max_rows=10, timeout=20)
    assert ok["rows"] == [[240, True]]


def test_a_runaway_query_is_stopped_at_the_time_limit(trips_file):
    views = [engine.View("taxi_trips", trips_file, ("district", "fare"))]
    with pytest.raises(engine.EngineTimeout):
        engine.run("select count(*) from taxi_trips a, taxi_trips b, taxi_trips c, taxi_trips d, taxi_trips e",
                   views, max_rows=10, timeout=1.5)


@pytest.fixture(scope="module")
def auth(ops, published):
    app_id, secret = ops.submit(applications.validate(published, APPLICATION))
    ops.approve(app_id, "审核员甲", applications.approval_scope(published, ops.application(app_id).to_dict()))
    return ops.resolve(ops.collect_credential(app_id, secret))


def test_small_cells_are_suppressed_and_sent_to_review(ops, published, auth):
    q = Zone(ops, published).submit(auth, "select category, count(*) as trips from taxi_trips group by category")
    assert q["status"] == "review" and "fewer than 10" in q["reason"]
    assert q["result"]["rows"] == [["巡游车", 237]]            # 专车 (3 trips) is gone
    assert q["report"]["suppressed_rows"] == 1


def test_a_dominated_sum_is_suppressed(ops, published, auth):
    q = Zone(ops, published).submit(auth, "select district, count(*) n, sum(fare) total from taxi_trips"
                                          " group by district order by district")
    rows = {r[0]: r for r in q["result"]["rows"]}
    assert rows["吴中区"][2] is None and rows["姑苏区"][2] > 0  # one fare of 100,000 dominates 吴中区
    assert q["status"] == "review" and q["report"]["suppressed_cells"] == 1


def test_statistics_of_few_records_are_suppressed_even_in_a_large_cell(ops, published, auth):
    q = Zone(ops, published).submit(auth, "select district, count(*) n,"
                                          " count(case when category = '专车' then 1 end) as premium,"
                                          " avg(case when fare > 1000 then fare end) as big_fare"
                                          " from taxi_trips group by district order by district")
    rows = {r[0]: r for r in q["result"]["rows"]}
    assert rows["姑苏区"][1] == 60 and rows["姑苏区"][2] is None            # 1 premium trip: suppressed
    assert rows["虎丘区"][2] == 0                                         # a zero count discloses nobody
    assert rows["吴中区"][3] is None and q["report"]["small_cells"] >= 2   # one fare above 1,000
    assert q["status"] == "review"


def test_too_many_rows_are_refused(ops, published, auth):
    zone = Zone(ops, published, Rules(min_cell=1, max_rows=10))
    q = zone.submit(auth, "select trip_date, count(*) from taxi_trips group by trip_date")
    assert q["status"] == "refuse" and q["result"] is None
    with pytest.raises(OperationError, match="cannot be released"):
        zone.release(q["id"], "审核员甲")


def test_a_refused_query_is_recorded_and_cannot_be_released(ops, published, auth):
    q = Zone(ops, published).submit(auth, "select driver_name, count(*) from taxi_trips group by driver_name")
    assert q["status"] == "refused" and "identifies persons" in q["reason"]
    with pytest.raises(OperationError):
        Zone(ops, published).release(q["id"], "审核员甲")


def test_a_release_is_immutable_checksummed_and_audited(ops, published, auth):
    zone = Zone(ops, published)
    q = zone.submit(auth, "select district, count(*) as trips from taxi_trips group by district")
    assert q["status"] == "safe" and q["versions"] == {"taxi_trips": 1}
    released = zone.release(q["id"], "审核员甲")
    data = zone.released_file(released)
    assert hashlib.sha256(data).hexdigest() == released["sha256"]
    assert data.decode("utf-8-sig").splitlines()[0] == "district,trips"
    with pytest.raises(OperationError, match="already released"):
        zone.release(q["id"], "审核员乙")
    actions = [e["action"] for e in ops.audit_log(auth.application_id)]
    assert actions[:3] == ["application.submitted", "application.approved", "credential.issued"]
    assert "zone.released" in actions and actions.count("zone.query") >= 1
    # a tampered file is refused when served
    path = ops.releases_dir / released["path"]
    path.chmod(0o644)
    path.write_bytes(data + b"x")
    with pytest.raises(OperationError, match="checksum"):
        zone.released_file(released)
    path.write_bytes(data)


@pytest.mark.parametrize("statement", [
    "update audit set actor = 'someone else'", "delete from audit", "update releases set sha256 = 'x'",
    "delete from zone_queries", "update decisions set decision = 'approved'", "delete from applications",
])
def test_audit_rows_cannot_be_changed(ops, auth, statement):
    with closing(ops.connect()) as con, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute(statement)


MEMORY_HUNGRY = ("select a.district, count(distinct a.fare + b.fare * 1000 + c.fare * 1000000) as combinations"
                 " from taxi_trips a join taxi_trips b on a.district = b.district"
                 " join taxi_trips c on a.district = c.district group by a.district")


def test_a_query_over_the_memory_cap_fails_and_nothing_is_released(ops, published, auth, monkeypatch):
    # 864,000 joined rows and a distinct set of them: a few MB more than the cap allows, with no disk to spill to
    monkeypatch.setenv("SUDATA_ZONE_MEMORY_LIMIT", "32MB")
    views = [engine.View("taxi_trips", Zone(ops, published).tables(auth)["taxi_trips"].path, ("district", "fare"))]
    with pytest.raises(engine.EngineOutOfMemory, match=r"more memory than the zone allows \(32MB\)") as failed:
        engine.run(MEMORY_HUNGRY, views, max_rows=10, timeout=20)
    with pytest.raises(ProcessLookupError):  # the child that ran it has exited (and was reaped)
        os.kill(failed.value.pid, 0)
    before = set(ops.releases_dir.iterdir()) if ops.releases_dir.exists() else set()
    q = Zone(ops, published).submit(auth, MEMORY_HUNGRY)
    assert q["status"] == "failed" and "more memory than the zone allows (32MB)" in q["reason"]
    assert q["result"] is None
    with pytest.raises(OperationError, match="cannot be released"):
        Zone(ops, published).release(q["id"], "审核员甲")
    assert (set(ops.releases_dir.iterdir()) if ops.releases_dir.exists() else set()) == before
    # the same query under the default cap is answered
    monkeypatch.delenv("SUDATA_ZONE_MEMORY_LIMIT")
    assert engine.run(MEMORY_HUNGRY, views, max_rows=10, timeout=20)["rows"][0][1] > 200_000


def test_what_duckdb_allocates_outside_its_cap_is_held_by_the_address_space_limit(ops, published, auth):
    # a 3 GB string is not a buffer of DuckDB's: only the kernel's limit on the child stops it
    views = [engine.View("taxi_trips", Zone(ops, published).tables(auth)["taxi_trips"].path, ("district", "fare"))]
    with pytest.raises(engine.EngineOutOfMemory, match=r"more memory than the zone allows \(64MB\)"):
        engine.run("select length(repeat('x', 3000000000))", views, max_rows=1, timeout=60, memory_limit="64MB")
    assert engine.run("select length(repeat('x', 1000000))", views, max_rows=1, timeout=20,
                      memory_limit="64MB")["rows"] == [[1000000]]


@pytest.mark.parametrize(("size", "expected"), [("512MB", 512_000_000), ("1.5GB", 1_500_000_000),
                                                ("2GiB", 2 << 30), ("64 mib", 64 << 20), ("100", 100)])
def test_memory_sizes_are_read_as_duckdb_reads_them(size, expected):
    assert engine.memory_bytes(size) == expected
