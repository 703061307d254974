"""Ingestion killed with a real SIGKILL at each point of landing, then run again, ends exactly where an
uninterrupted run ends: the same rows in every partition, the same ledger, the same quarantine.

Each run is `tests/ingest_night.py` in a process of its own: the dates `sudata run` would pick, every source.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
from pathlib import Path

import pytest

from sudata.ingest import lake_problems, pending_drop_dates, state
from sudata.crash import INGESTION_POINTS as POINTS
from sudata.registry import load_registry
from sudata.settings import PROJECT_ROOT, Paths
from tests.lake_state import end_state as _end_state
from tests.lake_state import run_ingestion as _run

REG = load_registry()
DAY1, DAY2 = "2026-11-23", "2026-11-24"


def _landing_zone(raw: Path) -> None:
    """The bundled sample plus a night with a second, truncated file and an unreadable one."""
    shutil.copytree(PROJECT_ROOT / "raw", raw, dirs_exist_ok=True)
    schools = raw / REG["schools"].folder / DAY2
    good = next(schools.glob("*.csv")).read_bytes()
    lines = good.split(b"\r\n")
    (schools / "schools_supplement.csv").write_bytes(b"\r\n".join([lines[0], lines[1].replace(b"2132", b"2199", 1),
                                                                  lines[2][:10]]))
    bus = raw / REG["bus_stops"].folder / DAY2
    (bus / "bus_stops_utf16.csv").write_bytes(next(bus.glob("*.csv")).read_text(encoding="utf-8").encode("utf-16"))


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    _landing_zone(raw)
    reference = tmp_path_factory.mktemp("reference")
    done = _run(reference, raw)
    assert done.returncode == 0, done.stderr
    return raw, _end_state(reference)


def test_the_uninterrupted_reference_run_lands_and_quarantines(zone):
    raw, reference = zone
    assert f"raw/schools/{DAY2}.parquet" in reference["lake"] and f"raw/bus_stops/{DAY2}.parquet" in reference["lake"]
    reasons = {(q[0], q[4]): q[6] for q in reference["ledger"]["quarantine"]}
    assert "UTF-16" in reasons[("bus_stops", "file")] and "fields" in reasons[("schools", "rows")]
    assert len([f for f in reference["ledger"]["files"] if f[4] == "duplicate"]) == 1  # the re-delivered licences file


CRASHES = [
    "between_files@1", "before_partition_write@1", "during_partition_write@1", "during_partition_write@20",
    "after_partition_write@1", "after_partition_write@16", "inside_ledger_write@1", "inside_ledger_write@23",
    "after_ledger_write@7", "between_dates@1", "between_dates@9",
]


def test_every_crash_point_is_exercised():
    assert {c.split("@")[0] for c in CRASHES} == set(POINTS)


@pytest.mark.parametrize("crash_at", CRASHES)
def test_a_killed_ingestion_rerun_ends_where_an_uninterrupted_one_ends(zone, tmp_path, crash_at):
    raw, reference = zone
    home = tmp_path / "home"
    killed = _run(home, raw, crash_at)
    assert killed.returncode == -signal.SIGKILL, f"not killed at {crash_at}: {killed.returncode} {killed.stderr[-2000:]}"
    assert _end_state(home) != reference, "the kill left the work unfinished"
    again = _run(home, raw)
    assert again.returncode == 0, again.stderr
    assert _end_state(home) == reference
    paths = Paths(home=home, raw=raw)
    assert lake_problems(paths, REG) == [] and pending_drop_dates(paths, REG) == []


def test_killed_after_the_partition_write_the_lake_holds_what_the_ledger_does_not_know(zone, tmp_path):
    raw, _ = zone
    home = tmp_path / "home"
    assert _run(home, raw, "after_partition_write@1").returncode == -signal.SIGKILL
    first = next(REG.values().__iter__())
    assert (home / "lake" / "raw" / first.id / f"{DAY1}.parquet").exists()
    assert state.partition(home / "state.sqlite", first.id, DAY1) is None
    assert DAY1 in pending_drop_dates(Paths(home=home, raw=raw), REG), "the date is landed again by the next run"


def test_killed_inside_the_ledger_transaction_the_ledger_records_nothing_of_the_date(zone, tmp_path):
    raw, _ = zone
    home = tmp_path / "home"
    assert _run(home, raw, "inside_ledger_write@1").returncode == -signal.SIGKILL
    with sqlite3.connect(home / "state.sqlite") as con:
        assert con.execute("select count(*) from files").fetchone()[0] == 0
        assert con.execute("select count(*) from partitions").fetchone()[0] == 0


@pytest.mark.parametrize("damage", ["deleted", "replaced by another date's partition", "truncated"])
def test_a_partition_the_lake_lost_is_shown_and_landed_again(zone, tmp_path, monkeypatch, damage):
    """The lost-third-of-a-dataset case: the ledger claims a partition the lake no longer holds (as right)."""
    raw, reference = zone
    home = tmp_path / "home"
    assert _run(home, raw).returncode == 0
    target = home / "lake" / "raw" / "administrative_licences" / f"{DAY1}.parquet"
    if damage == "deleted":
        target.unlink()
    elif damage == "truncated":
        target.write_bytes(target.read_bytes()[:-100])
    else:
        shutil.copy(target.with_name(f"{DAY2}.parquet"), target)
    paths = Paths(home=home, raw=raw)
    (problem,) = lake_problems(paths, REG)
    assert (problem.source, problem.drop_date) == ("administrative_licences", DAY1)
    assert pending_drop_dates(paths, REG) == [DAY1], "the next run lands the date again"

    monkeypatch.setenv("SUDATA_HOME", str(home))
    monkeypatch.setenv("SUDATA_RAW", str(raw))
    from cli.pipeline import status_snapshot

    snap = status_snapshot()
    assert [p["drop_date"] for p in snap["lake_problems"]] == [DAY1]
    assert next(s for s in snap["sources"] if s["source"] == "administrative_licences")["lake_problems"] == 1

    assert _run(home, raw).returncode == 0
    assert _end_state(home) == reference
    assert status_snapshot()["lake_problems"] == []
