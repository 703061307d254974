"""The benchmark's floor, raw scan and report code on a very small generated landing zone.

Not the benchmark (``make bench``): no ``sudata run`` and no ``dbt compile`` here. The floor runs a small
hand-written manifest (a seed, a view, a table that depends on both, an ephemeral model) over a lake
that ingestion wrote from freshly generated drops.
"""

from __future__ import annotations

import json
from contextlib import closing
from datetime import date

import duckdb
import pytest

from bench.floor import model_order, run_floor
from bench.report import evaluate_targets, write_report
from bench.scan import run_scan
from samplegen import generate
from sudata.ingest import ingest_partition
from sudata.registry import load_registry
from sudata.settings import DBT_PROJECT_DIR, Paths

DROP_DATE = "2026-11-23"


def _node(name, materialized, sql, deps=(), resource_type="model", **extra):
    uid = f"{resource_type}.sudata.{name}"
    return uid, {
        "unique_id": uid, "name": name, "resource_type": resource_type, "database": "warehouse", "schema": "main",
        "alias": name, "relation_name": f'"warehouse"."main"."{name}"', "fqn": ["sudata", "marts", name],
        "config": {"materialized": materialized, "enabled": True, **extra.pop("config", {})},
        "depends_on": {"nodes": list(deps)}, "compiled_code": sql, **extra,
    }


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-smoke")
    paths = Paths(home=root / "home", raw=root / "raw")
    generate(paths.raw, rows=1500, days=1, start=date.fromisoformat(DROP_DATE))
    for source in load_registry().values():
        ingest_partition(paths, source, DROP_DATE)
    return paths


def test_floor_runs_models_in_dependency_order_over_the_lake(landed, tmp_path):
    seed_uid, seed = _node("suzhou_streets", "seed", None, resource_type="seed",
                           root_path=str(DBT_PROJECT_DIR), original_file_path="seeds/suzhou_streets.csv",
                           config={"column_types": {"code": "varchar(9)"}})
    eph_uid, eph = _node("eph", "ephemeral", "select 1 as x")
    mart_uid, mart = _node(
        "communities_per_street", "table",
        'select s.street_code, count(*) as n from "warehouse"."main"."stg_communities" s '
        'left join "warehouse"."main"."suzhou_streets" z on z.code = s.street_code group by 1',
        deps=["model.sudata.stg_communities", seed_uid, eph_uid])
    stg_uid, stg = _node("stg_communities", "view", "select street_code from raw.communities -- trailing comment")
    manifest = {
        "nodes": {mart_uid: mart, eph_uid: eph, seed_uid: seed, stg_uid: stg},  # deliberately out of order
        "sources": {"source.sudata.raw.communities": {"source_name": "raw", "name": "communities"}},
    }
    assert [n["name"] for n in model_order(manifest)].index("communities_per_street") == 2
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")

    result = run_floor(path, landed.lake, tmp_path / "floor" / "anything.duckdb")

    built = {m["model"]: m for m in result["models"]}
    assert set(built) == {"stg_communities", "communities_per_street"}  # the ephemeral model is not built
    assert built["stg_communities"]["materialized"] == "view"
    with closing(duckdb.connect()) as con:
        lake_rows = con.execute(
            f"select count(*) from read_parquet('{landed.lake}/raw/communities/*.parquet')").fetchone()[0]
    assert lake_rows > 0
    with closing(duckdb.connect(result["db"], read_only=True)) as con:
        assert con.execute("select sum(n) from communities_per_street").fetchone()[0] == lake_rows
        assert con.execute("select count(*) from suzhou_streets").fetchone()[0] > 100
    # the floor under the pipeline's cap: the cap is DuckDB's own setting (too small a cap fails the build)
    with pytest.raises(duckdb.OutOfMemoryException):
        run_floor(path, landed.lake, tmp_path / "capped" / "anything.duckdb", memory_limit="64KB")


def test_raw_scan_reads_every_delivered_file(landed):
    result = run_scan(landed.raw, landed.lake)
    delivered = [p for p in landed.raw.rglob("*") if p.is_file()]
    assert result["files"] == len(delivered)
    assert result["rows"] > 0
    assert "read_csv" in result["by_reader"] and "read_json" in result["by_reader"]
    xlsx = [f for f in result["detail"] if f["format"] == "xlsx"]
    assert xlsx and all(f["reader"].startswith("read_parquet") or f["reader"].startswith("(in lake") for f in xlsx)


def test_report_files_and_targets(tmp_path):
    stages = {"ingestion": 20.0, "dbt_models": 40.0, "dbt_tests": 6.0, "quality_gate": 4.0, "publication": 6.0,
              "overhead": 24.0}
    run = {"measurement": {"wall_s": 100.0, "cpu_s": 150.0, "cpu_utilisation": 1.5, "peak_rss_mb": 1500.0},
           "outcome": {"drop_dates": ["2026-11-23", "2026-11-24"], "runs": 2, "published": 17, "blocked": 0,
                       "failed_steps": 0, "exit_code": 0, "complete": True},
           "stages": {"wall_s": 100.0, "stages_s": stages, "shares": {k: v / 100 for k, v in stages.items()},
                      "dbt_step_s": 46.0, "transformation_s": 40.0, "gate_s": 10.0, "runs": [], "steps": [],
                      "dbt_node_seconds": {"models": 30.0, "tests": 6.0}, "overhead_detail_s": {}}}
    report = {
        "meta": {"started": "2026-11-26T00:00:00"},
        "scales": [{
            "rows": 10_000_000, "full_run": run,
            "floor": {"measurement": {"wall_s": 50.0, "cpu_s": 90.0, "peak_rss_mb": 900.0},
                      "result": {"models": [{"model": "m", "materialized": "table", "seconds": 1.0, "rows": 5}]}},
            "scan": {"measurement": {"wall_s": 10.0, "cpu_s": 15.0, "peak_rss_mb": 300.0}},
            "incremental": {**run, "measurement": {**run["measurement"], "wall_s": 30.0}},
            "rebuild": {**run, "measurement": {**run["measurement"], "wall_s": 150.0}},
        }],
        "defs_load": {"sources": 1000, "import": {"median_s": 3.2, "min_s": 3.0, "max_s": 3.5, "runs_s": [3.2],
                                                  "cpu_median_s": 2.9, "peak_rss_mb": 300.0},
                      "import_and_resolve": {"median_s": 4.0, "min_s": 3.9, "max_s": 4.1, "runs_s": [4.0],
                                             "cpu_median_s": 3.5, "peak_rss_mb": 320.0},
                      "baseline": {"sources": 15, "import": {"median_s": 2.0, "min_s": 2.0, "max_s": 2.0, "runs_s": [2.0],
                                                             "cpu_median_s": 1.8, "peak_rss_mb": 200.0}},
                      "loadavg_start": [8.0, 7.0, 6.0], "loadavg_end": [9.0, 7.0, 6.0],
                      "target_s": 3.0, "before_s": {"import_median_s": 64.0, "commit": "c9a4a67"},
                      "over_target": 1.07, "over_before": 0.05},
        "growing": {"rows": 10_000_000, "days": 30, "new_drop_date": "2026-12-24",
                    "checkpoints": [{"history_days": d, "wall_s": 40.0 + d, "peak_rss_mb": 1400.0 + d, "stages_s": stages,
                                     "load_average": [2.0 + d / 10, 2.0, 2.0]}
                                    for d in (7, 15, 22, 30)],
                    "next_night": {"wall_s": 70.0, "dbt_slowest_nodes": [{"node": "int_enterprises", "kind": "model",
                                                                          "seconds": 6.25}]},
                    "alone": {"wall_s": 50.0}, "next_vs_alone": 1.4,
                    "peak_rss_mb": 2100.0, "published_bytes": {"apparent": 3 << 20, "stored": 1 << 20}},
    }
    files = write_report(report, tmp_path / "results")
    status = {t["target"]: t["status"] for t in evaluate_targets(report)}
    assert status == {"full_vs_floor": "not met", "gate_vs_transformation": "met", "incremental_vs_rebuild": "met",
                      "peak_memory": "met", "defs_load": "not met", "next_night_vs_alone": "met",
                      "growing_peak_memory": "not met"}
    md = files["markdown"].read_text(encoding="utf-8")
    assert "| 30 | 70.0 s |" in md
    assert ("definitions with 1,000 sources: import 3.20 s median wall (2.90 s CPU), 1.07× the 3 s target, "
            "0.05× the 64.0 s before (c9a4a67)") in md
    assert "load average 8.0 → 9.0" in md
    assert "Load average (1 min) at the end of each night: 2.7–5.0" in md
    assert "`int_enterprises` 6.2" in md
    assert (tmp_path / "results" / "growing.png").stat().st_size > 10_000
    assert "| Full nightly run ≤ 1.25× the floor (b) | 2.00× | ❌ not met |" in md
    assert files["chart"] and files["chart"].stat().st_size > 10_000
    assert json.loads(files["json"].read_text(encoding="utf-8"))["scales"][0]["ratios"]["a_over_b"] == 2.0


def test_the_growing_bench_reads_dbt_node_times_of_its_runs_and_prints_stages(tmp_path):
    from bench.growing import dbt_slowest_nodes, stage_line

    for rid, results in (("abcdef1234", [("model.sudata.int_enterprises", 6.0), ("test.sudata.not_null_x.ab12", 0.5)]),
                         ("9999999999", [("model.sudata.stg_other_run", 99.0)])):
        folder = tmp_path / f"sudata_dbt_models-{rid[:7]}-0000000"
        folder.mkdir()
        (folder / "run_results.json").write_text(json.dumps(
            {"results": [{"unique_id": u, "execution_time": t} for u, t in results]}), encoding="utf-8")
    nodes = dbt_slowest_nodes(["abcdef12-3456"], target=tmp_path)
    assert nodes == [{"node": "int_enterprises", "kind": "model", "seconds": 6.0},
                     {"node": "not_null_x", "kind": "test", "seconds": 0.5}]
    line = stage_line({"stages_s": {"ingestion": 1.0, "dbt_models": 2.5, "publication": 3.25}})
    assert line.strip() == "ingestion 1.0 s, dbt models (transformation) 2.5 s, publication 3.2 s"


def test_the_run_output_is_read_for_single_dates_and_catch_up_ranges():
    from bench.pipeline import parse_run_output

    catch_up = parse_run_output(
        "nightly run for drop dates 2026-11-23 … 2026-11-25 (3 dates) …\n"
        "  run 0f3a finished in 12.5s: 16 published, 1 blocked, 0 failed steps\n"
        "  blocked by its quality gate: schools (its last good version stays current)\n")
    assert catch_up["drop_dates"] == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert (catch_up["launched"], catch_up["runs"], catch_up["published"], catch_up["blocked"]) == (1, 1, 16, 1)
    assert catch_up["blocked_datasets"] == ["schools"]

    single = parse_run_output("nightly run for drop date 2026-11-26 …\n")
    assert single["drop_dates"] == ["2026-11-26"] and (single["launched"], single["runs"]) == (1, 0)


def test_the_synthetic_registry_is_a_valid_registry_of_n_sources(tmp_path):
    from bench.defs_load import synthetic_registry
    from sudata import dbt_codegen
    from sudata.registry import load_registry

    assert synthetic_registry(60, tmp_path / "registry") == 60
    real, synthetic = load_registry(), load_registry(tmp_path / "registry")
    assert len(synthetic) == 60 and set(real) <= set(synthetic)
    clones = [s for sid, s in synthetic.items() if sid not in real]
    # a clone has no rules (they need the source's own staging SQL); one of a published source is published
    assert clones and all(not c.rules for c in clones)
    for clone in clones:
        original = real[clone.id.rsplit("_x", 1)[0]]
        assert bool(clone.publish) == bool(original.publish and not original.rules), clone.id
    names = [s.publish.name for s in synthetic.values() if s.publish]
    assert len(names) == len(set(names))
    assert dbt_codegen.render(synthetic, tmp_path / "dbt_project")
