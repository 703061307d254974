"""Nights are incremental: staging takes only the partitions landed since the last run, and the result is
the one a rebuild from scratch gives. A catch-up of several dates is one run."""

from __future__ import annotations

import csv
import io
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
    contents = _content(nights["nightly"])
    assert len([m for m in contents if m.startswith("int_")]) >= 15
    assert contents == _content(nights["rebuilt"])
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


STAGED_ON = "select count(*) from stg_air_quality_hourly where _drop_date = cast(? as date)"


def _redeliver(folder: Path, encoding: str, *, withdraw: int, change: int, column: int, delta: int) -> None:
    """A department's corrected redelivery of a CSV drop: its last ``withdraw`` records left out and a number
    in ``column`` of its first ``change`` records corrected by ``delta``."""
    (path,) = sorted(folder.glob("*.csv"))
    text = path.read_bytes().decode(encoding)
    newline = "\r\n" if "\r\n" in text else "\n"
    header, *rows = list(csv.reader(io.StringIO(text)))
    rows = rows[:-withdraw]
    for row in rows[:change]:
        if row[column].strip().isdigit():
            row[column] = str(int(row[column]) + delta)
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows([header, *rows])
    path.write_bytes(out.getvalue().encode(encoding))


def _int_models(paths: Paths) -> list[str]:
    with closing(duckdb.connect(str(paths.warehouse), read_only=True)) as con:
        return sorted(r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_name like 'int\\_%' escape '\\'").fetchall())


def _sorted_content_hash(con, relation: str) -> tuple[int, str]:
    """Row count and the hash of the sorted rows; _changed_at (when the row was last merged) is left out."""
    columns = [r[0] for r in con.execute(f"describe select * from {relation}").fetchall() if r[0] != "_changed_at"]
    rows = f"select cast(row({', '.join(chr(34) + c + chr(34) for c in columns)}) as varchar) as r from {relation}"
    return con.execute(f"select count(*), md5(coalesce(string_agg(r, chr(10) order by r), '')) from ({rows})").fetchone()


def _content(paths: Paths) -> dict[str, tuple[int, str]]:
    """Sorted-content hashes of every intermediate model and of every published dataset's current data."""
    from sudata.store import PublishedStore

    store = PublishedStore(paths.published)
    out = {}
    with closing(duckdb.connect(str(paths.warehouse), read_only=True)) as con:
        for model in _int_models(paths):
            out[model] = _sorted_content_hash(con, model)
        for d in store.datasets():
            current = store.current_version(d["name"])
            parquet = store.path(current["path"]) / current["files"]["parquet"]["path"]
            out[f"published:{d['name']}"] = _sorted_content_hash(con, f"read_parquet('{parquet}')")
    return out


@pytest.fixture(scope="module")
def redelivery(nights):
    """A night that redelivers the first date corrected (records withdrawn, values changed) for a measurement
    source, a published master source and a source that references another, and with records withdrawn for
    the enterprise registrations and the licences the enterprise aggregates count; then a rebuild from
    scratch."""
    mp, raw, paths = nights["mp"], nights["raw"], nights["nightly"]
    before = {"staged": {d: _count(paths, STAGED_ON, [d]) for d in DAYS},
              "content": _content(paths), "schools": _version_files(paths, "schools")}
    _redeliver(raw / "ecology_environment" / "air_quality_hourly" / DAYS[0], "utf-8",
               withdraw=25, change=10, column=4, delta=7)                      # AQI
    _redeliver(raw / "education" / "schools" / DAYS[0], "gbk", withdraw=5, change=10, column=6, delta=1)  # students
    _redeliver(raw / "culture_tourism" / "scenic_visitors_daily" / DAYS[0], "gbk",
               withdraw=5, change=5, column=2, delta=100)                    # visitors
    _redeliver(raw / "market_regulation" / "enterprise_registrations" / DAYS[0], "gbk",
               withdraw=5, change=0, column=0, delta=0)
    # the sample's second licence drop repeats the first date's file as it was: once the first date is
    # corrected, that copy is no longer a duplicate and lands (as it does in a rebuild), bringing the
    # withdrawn records back; the third date's withdrawals stay withdrawn
    for day, withdraw in ((DAYS[0], 8), (DAYS[-1], 6)):
        _redeliver(raw / "credit_office" / "administrative_licences" / day, "utf-8",
                   withdraw=withdraw, change=0, column=0, delta=0)
    code = _run(mp, paths.home, raw)
    rebuilt = nights["rebuilt"].home.parent / "rebuilt_after_redelivery"
    rebuild = _run(mp, rebuilt, raw)
    yield {"codes": (code, rebuild), "before": before, "rebuilt": Paths(home=rebuilt, raw=raw)}


def _version_files(paths: Paths, name: str) -> dict:
    from sudata.store import PublishedStore

    store = PublishedStore(paths.published)
    current = store.current_version(name)
    directory = store.path(current["path"])
    return {"version": current["version"],
            "slices": {s["unit_code"]: (s["sha256"], store.path(s["path"])) for s in store.slices(name, current["version"])},
            "parts": {(fmt, s["part"]): directory / s["path"] for fmt in ("csv", "json")
                      for s in current["files"][fmt]["segments"] if "part" in s}}


# Models that summarise upstream rows per key: merged by key, a key recomputed when its rows changed or went.
AGGREGATES = {"int_enterprises", "enterprise_registry", "air_quality_daily"}
# Marts that join a second model in: merged by key, a key recomputed when either side changed.
JOINED = {"administrative_licences", "enterprise_contacts"}


def test_the_intermediate_models_and_published_marts_are_merged_by_key():
    import json

    from orchestration.project import dbt_project, ensure_manifest

    ensure_manifest()
    manifest = json.loads(dbt_project.manifest_path.read_text("utf-8"))
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    merged = [n for n in nodes if n["name"].endswith("__deduped") or "macro.sudata.publish_as_is" in n["depends_on"]["macros"]
              or n["name"] in AGGREGATES | JOINED]
    assert len(merged) >= 22
    assert AGGREGATES | JOINED <= {n["name"] for n in merged}
    for name in AGGREGATES:
        assert "sudata.recounted_keys(" in manifest["nodes"][f"model.sudata.{name}"]["raw_code"], name
    for node in merged:
        assert node["config"]["materialized"] == "incremental", node["name"]
        assert node["config"]["incremental_strategy"] == "delete+insert" and node["config"]["unique_key"], node["name"]
        assert any("drop_tombstones" in h["sql"] for h in node["config"]["post-hook"]), node["name"]


def test_the_quarantine_and_unusable_value_counts_are_merged_by_drop():
    """Both read every staged row; a night recomputes only the drop dates it staged (unique_key source and
    drop date), and a restaged date's tombstones leave after the merge."""
    import json

    from orchestration.project import dbt_project, ensure_manifest

    ensure_manifest()
    manifest = json.loads(dbt_project.manifest_path.read_text("utf-8"))
    for name in ("int_quarantined_rows", "int_unusable_values"):
        node = manifest["nodes"][f"model.sudata.{name}"]
        assert node["config"]["materialized"] == "incremental", name
        assert node["config"]["incremental_strategy"] == "delete+insert", name
        assert node["config"]["unique_key"] == ["source", "_drop_date"], name
        assert any("drop_tombstones" in h["sql"] for h in node["config"]["post-hook"]), name
    assert "macro.sudata.new_drops_only" in manifest["macros"]["macro.sudata.quarantined_rows"]["depends_on"]["macros"]
    assert "macro.sudata.new_drops_only" in manifest["macros"]["macro.sudata.unusable_value_counts"]["depends_on"]["macros"]


def test_a_night_recomputes_only_the_keys_its_drops_touched(nights):
    """After the third night, only the keys delivered that night carry its load time."""
    paths = nights["nightly"]
    sql = ("select count(*) filter (where _changed_at = (select max(_changed_at) from int_schools__deduped)), count(*)"
           " from int_schools__deduped")
    with closing(duckdb.connect(str(paths.warehouse), read_only=True)) as con:
        changed, total = con.execute(sql).fetchone()
        (third_night,) = con.execute("select count(distinct school_code) from stg_schools where _drop_date = cast(? as date)",
                                     [DAYS[-1]]).fetchone()
    assert 0 < changed <= third_night < total


@pytest.mark.parametrize("model", sorted(AGGREGATES | JOINED))
def test_a_night_recomputes_only_the_aggregates_its_drops_touched(nights, model):
    """A full build stamps every row with the same time; the third night restamps only what it recomputed."""
    sql = f"select count(*) filter (where _changed_at = (select max(_changed_at) from {model})), count(*) from {model}"
    with closing(duckdb.connect(str(nights["nightly"].warehouse), read_only=True)) as con:
        changed, total = con.execute(sql).fetchone()
    assert 0 < changed < total, (changed, total)


def test_after_a_corrected_redelivery_the_content_equals_a_rebuild(nights, redelivery):
    assert redelivery["codes"] == (0, 0)
    incremental, rebuilt = _content(nights["nightly"]), _content(redelivery["rebuilt"])
    assert sorted(incremental) == sorted(rebuilt)
    assert [m for m in incremental if incremental[m] != rebuilt[m]] == []
    before = redelivery["before"]["content"]
    # the withdrawn records left the models (a delete+insert by key alone would have kept them)
    for withdrawn in ("int_air_quality_hourly__deduped", "int_schools__deduped", "int_scenic_visitors_daily__deduped",
                      "int_enterprise_registrations__deduped", "int_administrative_licences__deduped"):
        assert incremental[withdrawn][0] < before[withdrawn][0], withdrawn
    for changed in ("int_air_quality_hourly__deduped", "int_schools__deduped", "int_scenic_visitors_daily__deduped",
                    "published:schools", "published:air_quality_daily", "published:scenic_spot_visitors",
                    "int_enterprises", "published:enterprise_registry", "published:enterprise_credit_profile",
                    "published:enterprise_contacts", "published:administrative_licences"):
        assert incremental[changed] != before[changed], changed


def test_a_corrected_older_drop_replaces_its_date_in_staging(nights, redelivery):
    paths = nights["nightly"]
    before = redelivery["before"]["staged"]
    after = {d: _count(paths, STAGED_ON, [d]) for d in DAYS}
    assert after[DAYS[0]] == before[DAYS[0]] - 25, "the corrected date is replaced, not appended to"
    assert {d: after[d] for d in DAYS[1:]} == {d: before[d] for d in DAYS[1:]}
    landed = _count(paths, "select count(*) from read_parquet(?)",
                    [str(paths.lake / "raw" / "air_quality_hourly" / f"{DAYS[0]}.parquet")])
    assert after[DAYS[0]] == landed


def test_a_new_version_shares_the_slices_it_did_not_change(nights, redelivery):
    old, new = redelivery["before"]["schools"], _version_files(nights["nightly"], "schools")
    assert new["version"] > old["version"]
    same = [u for u in new["slices"] if new["slices"][u][0] == old["slices"][u][0]]
    changed = [u for u in new["slices"] if u not in same]
    assert same and changed
    for unit in same:  # one file, two names: the old version keeps it, the new one is complete
        assert new["slices"][unit][1].stat().st_ino == old["slices"][unit][1].stat().st_ino, unit
    for unit in changed:
        assert new["slices"][unit][1].stat().st_ino != old["slices"][unit][1].stat().st_ino, unit
        assert new["slices"][unit][1].exists() and old["slices"][unit][1].exists()


def test_a_new_version_shares_the_parts_of_the_drops_it_did_not_change(nights, redelivery):
    """Only the first date was redelivered: its CSV and JSON parts are written again, the later dates'
    parts are the files of the version before."""
    old, new = redelivery["before"]["schools"], _version_files(nights["nightly"], "schools")
    assert set(new["parts"]) == set(old["parts"]) == {(fmt, day) for fmt in ("csv", "json") for day in DAYS}
    for (fmt, day), path in new["parts"].items():
        shared = path.stat().st_ino == old["parts"][(fmt, day)].stat().st_ino
        assert shared is (day != DAYS[0]), (fmt, day)
    # and the publication says so in the UI
    import dagster as dg

    with dg.DagsterInstance.from_config(str(nights["nightly"].home / "dagster")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["published", "schools"]))
    assert event.asset_materialization.metadata["parts"].data == {"count": len(DAYS), "written": {"csv": 1, "json": 1}}
