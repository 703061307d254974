"""The floor (b): the same marts computed by one DuckDB process running the compiled SQL of the dbt models.

What the floor includes, so that it does the same transformation work as ``dbt build`` and nothing else:

- it starts from the Parquet lake that the pipeline's ingestion wrote in run (a) (ingestion itself is
  reported separately, as a stage of (a), and the raw scan (c) shows what reading the drops costs);
- the ``raw`` schema is registered exactly as the project's ``on-run-start`` macro does it: one view per
  declared raw source over ``<lake>/raw/<source>/*.parquet`` with ``union_by_name``;
- seeds are loaded from their CSV files with the column types their config declares;
- every enabled model, in dependency order (``depends_on`` in the manifest), is created with its
  materialisation: ``view`` as a view, ``table`` and ``incremental`` as ``create table … as`` over the
  full-refresh SQL (the manifest is compiled against an empty warehouse, so ``is_incremental()`` is
  false), ``ephemeral`` models are already inlined by dbt into their dependants' compiled SQL;
- no dbt tests, no quality gate, no publication, no orchestration, no dbt process.

``compile_manifest`` prepares the compiled manifest (timed, but not part of the floor): ``dbt compile``
into a private target path, so the project's own ``dbt_project/target`` is left alone.
``python -m bench.floor --manifest M --lake L --db D --out result.json`` runs the floor itself; the
benchmark runs it in a subprocess so its time and memory are measured like the pipeline's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import closing
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

from bench import emit_json
from sudata.sql import quote_literal

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
RAW_SOURCE_NAME = "raw"



def raw_source_tables(manifest: dict) -> list[str]:
    """Source tables of the ``raw`` source, as the on-run-start macro lists them."""
    return sorted(s["name"] for s in manifest.get("sources", {}).values() if s.get("source_name") == RAW_SOURCE_NAME)


def raw_view_statements(lake: Path, tables: list[str]) -> list[str]:
    """The DuckDB statements of macros/raw_sources.sql (default__raw_source_statements)."""
    root = str(Path(lake).resolve()).replace("\\", "/")
    return ["create schema if not exists raw"] + [
        f"create or replace view raw.{t} as select * from read_parquet({quote_literal(f'{root}/raw/{t}/*.parquet')}, union_by_name = true)"
        for t in tables
    ]


def compile_manifest(lake: Path, workdir: Path) -> tuple[Path, float]:
    """``dbt compile`` of the models against an empty warehouse that sees the lake. Returns (manifest, seconds)."""
    started = time.perf_counter()
    workdir = Path(workdir)
    home = workdir / "compile_home"
    home.mkdir(parents=True, exist_ok=True)
    tables = sorted(p.name for p in (Path(lake) / "raw").iterdir() if p.is_dir())
    # dbt compile does not run on-run-start hooks: register the raw views first, in case a model
    # introspects its source relation while compiling.
    with closing(duckdb.connect(str(home / "warehouse.duckdb"))) as con:
        for stmt in raw_view_statements(lake, tables):
            con.execute(stmt)
    env = {**os.environ, "SUDATA_HOME": str(home)}
    env.pop("DBT_TARGET_PATH", None)
    dbt = Path(sys.executable).with_name("dbt")
    target = workdir / "target"
    cmd = [
        os.fspath(dbt), "compile", "--quiet",
        "--project-dir", os.fspath(DBT_PROJECT_DIR), "--profiles-dir", os.fspath(DBT_PROJECT_DIR),
        "--target", env.get("SUDATA_DBT_TARGET", "duckdb"),
        "--target-path", os.fspath(target), "--log-path", os.fspath(workdir / "logs"),
        "--vars", json.dumps({"lake_root": str(Path(lake).resolve())}),
        "--select", "resource_type:model",
    ]
    proc = subprocess.run(cmd, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt compile failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return target / "manifest.json", time.perf_counter() - started


def model_order(manifest: dict) -> list[dict]:
    """Enabled models in an order where each comes after everything it depends on."""
    nodes = manifest["nodes"]
    models = {uid: n for uid, n in nodes.items() if n["resource_type"] == "model" and n.get("config", {}).get("enabled", True)}
    graph = {uid: [d for d in n.get("depends_on", {}).get("nodes", []) if d in models] for uid, n in models.items()}
    return [models[uid] for uid in TopologicalSorter(graph).static_order()]


def seeds_used(manifest: dict, models: list[dict]) -> list[dict]:
    wanted = {d for m in models for d in m.get("depends_on", {}).get("nodes", []) if d.startswith("seed.")}
    return [manifest["nodes"][uid] for uid in sorted(wanted) if uid in manifest["nodes"]]


def _relation(node: dict) -> str:
    if node.get("relation_name"):
        return node["relation_name"]
    return ".".join(f'"{p}"' for p in (node["database"], node["schema"], node.get("alias") or node["name"]))


def _ensure_schema(con, node: dict, made: set) -> None:
    key = (node["database"], node["schema"])
    if key not in made:
        con.execute(f'create schema if not exists "{node["database"]}"."{node["schema"]}"')
        made.add(key)


def load_seed(con, node: dict) -> None:
    path = Path(node["root_path"]) / node["original_file_path"]
    cfg = node.get("config") or {}
    options = [f"{quote_literal(path)}", "header = true"]
    if cfg.get("delimiter") and cfg["delimiter"] != ",":
        options.append(f"delim = {quote_literal(cfg['delimiter'])}")
    types = cfg.get("column_types") or {}
    if types:
        options.append("types = {" + ", ".join(f"{quote_literal(k)}: {quote_literal(v)}" for k, v in types.items()) + "}")
    con.execute(f"create or replace table {_relation(node)} as select * from read_csv({', '.join(options)})")


def run_floor(manifest_path: Path, lake: Path, db_path: Path, memory_limit: str | None = None) -> dict:
    """The floor; ``memory_limit`` caps DuckDB as the pipeline's own connections are (DuckDB's default,
    80 % of RAM, when None: the floor of the benchmark's target)."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    models = model_order(manifest)
    if not models:
        raise RuntimeError(f"no models in {manifest_path}")
    database = models[0]["database"]
    db_path = Path(db_path)
    if db_path.stem != database:  # relation names in the compiled SQL carry the catalog name
        db_path = db_path.with_name(f"{database}.duckdb")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    result: dict = {"db": str(db_path), "models": [], "memory_limit": memory_limit}
    t_all = time.perf_counter()
    config = {"memory_limit": memory_limit} if memory_limit else {}
    with closing(duckdb.connect(str(db_path), config=config)) as con:
        t = time.perf_counter()
        for stmt in raw_view_statements(lake, raw_source_tables(manifest)):
            con.execute(stmt)
        result["raw_views_s"] = time.perf_counter() - t
        made: set = set()
        t = time.perf_counter()
        for seed in seeds_used(manifest, models):
            _ensure_schema(con, seed, made)
            load_seed(con, seed)
        result["seeds_s"] = time.perf_counter() - t
        for node in models:
            mat = (node.get("config") or {}).get("materialized", "view")
            if mat == "ephemeral":
                continue
            sql = node.get("compiled_code")
            if sql is None:
                raise RuntimeError(f"{node['unique_id']} has no compiled SQL: compile the manifest first")
            _ensure_schema(con, node, made)
            rel = _relation(node)
            kind = "view" if mat == "view" else "table"
            t = time.perf_counter()
            con.execute(f"create or replace {kind} {rel} as (\n{sql.rstrip().rstrip(';')}\n)")
            took = time.perf_counter() - t
            entry = {"model": node["name"], "layer": (node.get("fqn") or ["", ""])[1], "materialized": mat,
                     "seconds": round(took, 4)}
            if kind == "table":
                entry["rows"] = con.execute(f"select count(*) from {rel}").fetchone()[0]
            result["models"].append(entry)
        con.execute("checkpoint")
    result["total_s"] = time.perf_counter() - t_all
    result["models_s"] = sum(m["seconds"] for m in result["models"])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", required=True, type=Path, help="a compiled manifest.json")
    ap.add_argument("--lake", required=True, type=Path, help="the lake directory ($SUDATA_HOME/lake)")
    ap.add_argument("--db", required=True, type=Path, help="the DuckDB file to build (named after the catalog)")
    ap.add_argument("--out", type=Path, help="write the per-model timings here as JSON")
    ap.add_argument("--memory-limit", help="cap DuckDB like the pipeline (e.g. 1GB); default: DuckDB's own")
    args = ap.parse_args(argv)
    emit_json(run_floor(args.manifest, args.lake, args.db, args.memory_limit), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
