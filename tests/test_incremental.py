"""Nights are incremental: staging takes only the partitions landed since the last run, and the result is
the one a rebuild from scratch gives. A catch-up of several dates is one run."""

from __future__ import annotations

import shutil
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from sudata.settings import Paths

DAYS = ("2026-11-23", "2026-11-24", "2026-11-25")


def _use(mp: pytest.MonkeyPatch, home: Path, raw: Path) -> Paths:
    mp.setenv("SUDATA_HOME", str(home))
    mp.setenv("SUDATA_RAW", str(raw))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))
    return Paths(home=home, raw=raw)


def _run(mp, home, raw, *extra) -> int:
    from cli.main import main

    _use(mp, home, raw)
    return main(["run", *extra])


def _day_folders(raw: Path, day: str) -> list[Path]:
    return sorted(p for p in raw.rglob(day) if p.is_dir())


def _current_data(paths: Paths) -> dict[str, str]:
    from sudata.store import PublishedStore

    store = PublishedStore(paths.published)
    return {d["name"]: store.current_version(d["name"])["files"]["parquet"]["sha256"] for d in store.datasets()}


def _count(paths: Paths, sql: str, params=()) -> int:
    with closing(duckdb.connect(str(paths.warehouse), read_only=True)) as con:
        return con.execute(sql, list(params)).fetchone()[0]


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    from samplegen import generate

    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("incremental")
    generated, raw = base / "generated", base / "raw"
    generate(rows=6000, days=len(DAYS), out=generated)
    shutil.copytree(generated, raw)
    held_back = base / "held_back"
    for folder in _day_folders(raw, DAYS[-1]):  # the third night's drops arrive later
        shutil.move(str(folder), str(held_back / folder.relative_to(raw)))

    nightly = base / "nightly"
    first = _run(mp, nightly, raw)
    catch_up_runs = _dagster_runs(nightly)
    for folder in sorted(p for p in held_back.rglob(DAYS[-1]) if p.is_dir()):
        shutil.copytree(folder, raw / folder.relative_to(held_back))
    third = _run(mp, nightly, raw)

    rebuilt = base / "rebuilt"
    rebuild = _run(mp, rebuilt, raw)
    yield {"codes": (first, third, rebuild), "catch_up_runs": catch_up_runs, "raw": raw, "mp": mp,
           "nightly": Paths(home=nightly, raw=raw), "rebuilt": Paths(home=rebuilt, raw=raw)}
    mp.undo()


def _dagster_runs(home: Path) -> list:
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        return list(instance.get_runs())


def test_a_catch_up_of_two_dates_is_one_run_that_lands_both(nights):
    assert nights["codes"] == (0, 0, 0)
    (run,) = nights["catch_up_runs"]
    assert run.tags["dagster/asset_partition_range_start"] == DAYS[0]
    assert run.tags["dagster/asset_partition_range_end"] == DAYS[1]
    paths = nights["nightly"]
    for day in DAYS:
        assert (paths.lake / "raw" / "schools" / f"{day}.parquet").exists(), day


def test_the_incremental_night_ends_where_a_rebuild_ends(nights):
    incremental, rebuilt = _current_data(nights["nightly"]), _current_data(nights["rebuilt"])
    assert len(incremental) >= 15
    assert incremental == rebuilt
    for model in ("stg_air_quality_hourly", "stg_schools", "stg_job_postings"):
        sql = f"select count(*) from {model} where _drop_date = cast(? as date)"
        for day in DAYS:
            n = _count(nights["nightly"], sql, [day])
            assert n > 0 and n == _count(nights["rebuilt"], sql, [day]), (model, day)


def test_staging_models_are_incremental_by_drop_date():
    import json

    from orchestration.project import dbt_project, ensure_manifest

    ensure_manifest()
    manifest = json.loads(dbt_project.manifest_path.read_text("utf-8"))
    staging = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"].startswith("stg_")]
    assert len(staging) >= 15
    for node in staging:
        assert node["config"]["materialized"] == "incremental", node["name"]
        assert node["config"]["incremental_strategy"] == "delete+insert" and node["config"]["unique_key"] == "_drop_date"
        # every staging model is the standard staging, which reads only the drops landed since the last run
        assert "macro.sudata.standard_staging" in node["depends_on"]["macros"], node["name"]
    standard = manifest["macros"]["macro.sudata.standard_staging"]
    assert "macro.sudata.new_drops_only" in standard["depends_on"]["macros"]


def test_a_corrected_older_drop_replaces_its_date_in_staging(nights):
    mp, raw, paths = nights["mp"], nights["raw"], nights["nightly"]
    (csv,) = sorted((raw / "ecology_environment" / "air_quality_hourly" / DAYS[0]).glob("*.csv"))
    lines = csv.read_bytes().splitlines(keepends=True)
    csv.write_bytes(b"".join(lines[:-25]))  # the department withdraws its last 25 readings of that day
    sql = "select count(*) from stg_air_quality_hourly where _drop_date = cast(? as date)"
    before = {d: _count(paths, sql, [d]) for d in DAYS}

    assert _run(mp, paths.home, raw) == 0
    after = {d: _count(paths, sql, [d]) for d in DAYS}
    assert after[DAYS[0]] == before[DAYS[0]] - 25, "the corrected date is replaced, not appended to"
    assert {d: after[d] for d in DAYS[1:]} == {d: before[d] for d in DAYS[1:]}
    landed = _count(paths, "select count(*) from read_parquet(?)",
                    [str(paths.lake / "raw" / "air_quality_hourly" / f"{DAYS[0]}.parquet")])
    assert after[DAYS[0]] == landed
