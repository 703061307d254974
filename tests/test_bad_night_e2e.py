"""The full nightly (`sudata run`) over bad drops: a catch-up killed with SIGKILL during ingestion is
completed by the next run with nothing lost; then a night of corpus files for one source blocks only what
depends on it (its last good version stays current) while every other dataset publishes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from sudata.registry import load_registry
from sudata.settings import PROJECT_ROOT, Paths
from sudata.store import PublishedStore
from tests.bad_drops.make import cases, make
from tests.lake_state import end_state, run_ingestion

pytestmark = pytest.mark.integration

REG = load_registry()
DAY2, NIGHT = "2026-11-24", "2026-11-25"
BROKEN = "schools"          # tonight: UTF-16 text, an unsafe name, a folder that is no date
DIRTY_ROWS = "bus_stops"    # tonight: one row with control characters, the rest good


def _sudata(home, raw, *args, crash_at=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SUDATA_HOME": str(home), "SUDATA_RAW": str(raw), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("SUDATA_CRASH_AT", None)
    if crash_at:
        env["SUDATA_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main(sys.argv[1:]))",
                           *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)


def _case(name):
    return next(c for c in cases() if c["case"] == name)


def _bad_night(raw) -> None:
    for source in REG.values():
        night = raw / source.folder / NIGHT
        night.mkdir(parents=True)
        if source.id == BROKEN:
            (night / "schools_20261125.csv").write_bytes(make(_case("utf16_be_without_bom")))
            (night / "..schools.csv").write_bytes(next((raw / source.folder / DAY2).iterdir()).read_bytes())
            bad_folder = raw / source.folder / "2026-13-45"
            bad_folder.mkdir()
            for f in (raw / source.folder / DAY2).iterdir():
                shutil.copy(f, bad_folder / f.name)
        elif source.id == DIRTY_ROWS:
            # a correction of one stop's name, and one row broken by control characters
            text = make(_case("control_characters")).decode("utf-8").replace("舜新中路东", "舜新中路东（临时）")
            (night / "bus_stops_20261125.csv").write_bytes(text.encode("utf-8"))
        else:  # an identical redelivery of the previous night: landed, nothing new
            for f in (raw / source.folder / DAY2).iterdir():
                shutil.copy(f, night / f.name)


def _raw_files(raw) -> dict[str, str]:
    return {str(p.relative_to(raw)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(raw.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad_night")
    home, raw, reference = base / "home", base / "raw", base / "reference"
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    assert run_ingestion(reference, raw).returncode == 0
    killed = _sudata(home, raw, "run", crash_at="after_partition_write@20")
    caught_up = _sudata(home, raw, "run")
    lake_after_catch_up = end_state(home)
    store = PublishedStore(Paths(home=home, raw=raw).published)
    first = {d["name"]: d["current_version"] for d in store.datasets()}
    _bad_night(raw)
    before = _raw_files(raw)
    bad = _sudata(home, raw, "run")
    status = json.loads(_sudata(home, raw, "status", "--json").stdout)
    return {"killed": killed, "caught_up": caught_up, "lake": lake_after_catch_up, "reference": end_state(reference),
            "first": first, "bad": bad, "status": status, "store": store, "raw_same": _raw_files(raw) == before}


def test_a_catch_up_killed_during_ingestion_is_completed_by_the_next_run(nights):
    assert nights["killed"].returncode == -signal.SIGKILL
    assert nights["caught_up"].returncode == 0, nights["caught_up"].stdout[-3000:]
    assert nights["lake"] == nights["reference"], "the lake and ledger end where an uninterrupted ingestion ends"
    assert set(nights["first"]) and all(v == 1 for v in nights["first"].values()), nights["first"]


def test_the_bad_night_blocks_only_what_depends_on_the_broken_source(nights):
    assert nights["bad"].returncode == 3, nights["bad"].stdout[-3000:]  # some datasets blocked by their gate
    store, dependents, others = nights["store"], [], []
    for d in store.datasets():
        last = store.quality_runs(d["name"], limit=1)[0]
        assert last["drop_date"] == NIGHT, d["name"]
        if BROKEN in d["meta"]["upstream_sources"]:
            dependents.append(d["name"])
            assert not last["passed"] and d["current_version"] == nights["first"][d["name"]], "last good version stays"
        else:
            others.append(d["name"])
            assert last["passed"], f"{d['name']} does not depend on {BROKEN} but was blocked"
            # passed: published (a version with nothing new is not written again)
            assert d["current_version"] >= nights["first"][d["name"]], d["name"]
    assert "schools" in dependents and "bus_stops" in others and len(others) >= 10
    blocked = [line for line in nights["bad"].stdout.splitlines() if "blocked by its quality gate" in line]
    assert sorted(line.split(": ")[1].split(" ")[0] for line in blocked) == sorted(dependents)
    assert nights["raw_same"], "raw files are never modified"


def test_status_tells_why(nights):
    status = nights["status"]
    src = {s["source"]: s for s in status["sources"]}
    assert src[BROKEN]["last_status"] == "quarantined" and src[DIRTY_ROWS]["last_status"] == "loaded"
    reasons = {(q["source"], q["file"].rsplit("/", 1)[-1] or q["file"]): q["reason"] for q in status["quarantine"]}
    assert "UTF-16 BE text" in reasons[(BROKEN, "schools_20261125.csv")]
    assert "unsafe file name" in reasons[(BROKEN, "..schools.csv")]
    assert any("not a valid drop date folder" in r for (s, _), r in reasons.items() if s == BROKEN)
    assert "control character U+0007" in reasons[(DIRTY_ROWS, "bus_stops_20261125.csv")]
    assert status["lake_problems"] == []
