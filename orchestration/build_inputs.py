"""What a dbt build reads, as one fingerprint: when a night finds it equal to the last complete build's and
the warehouse untouched since, the build would produce the same tables and test outcomes, and is not run.

The inputs are the raw layer's Parquet files (path, size, modification time: the ingestion writes a
partition only when a drop lands or is redelivered), the dbt project's files, the values of the environment
variables the project reads (the pseudonym salt changes every masked column), and the dbt versions.
"""

from __future__ import annotations

import hashlib
import os
import re
from importlib.metadata import version
from pathlib import Path

from sudata.settings import DBT_PROJECT_DIR, Paths

PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "packages.yml", "selectors.yml",
                 "models", "macros", "seeds", "tests", "snapshots", "analyses")
ENV_VAR = re.compile(rb"""env_var\(\s*['"]([A-Za-z0-9_]+)['"]""")
# Where the home is, not what it holds: a home copied or moved elsewhere holds the same build.
LOCATION_VARS = {"SUDATA_HOME"}
TOOLS = ("dbt-core", "dbt-duckdb", "duckdb")


def _project_files(project_dir: Path):
    for part in PROJECT_PARTS:
        path = project_dir / part
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())


def build_inputs(paths: Paths, project_dir: Path = DBT_PROJECT_DIR) -> str:
    digest = hashlib.sha256()
    named: set[str] = set()
    for path in _project_files(project_dir):
        data = path.read_bytes()
        named.update(m.decode() for m in ENV_VAR.findall(data))
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0" + hashlib.sha256(data).digest())
    for name in sorted(named - LOCATION_VARS):
        digest.update(f"env {name}={os.environ.get(name)}\0".encode())
    for tool in TOOLS:
        digest.update(f"{tool}=={version(tool)}\0".encode())
    lake = paths.lake
    for path in sorted(lake.rglob("*")) if lake.is_dir() else []:
        if path.is_file():
            st = path.stat()
            digest.update(f"lake {path.relative_to(lake).as_posix()} {st.st_size} {st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def warehouse_stamp(paths: Paths) -> list[int] | None:
    """Size and modification time of the DuckDB warehouse: anything that wrote it since changes them."""
    try:
        st = paths.warehouse.stat()
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns]
