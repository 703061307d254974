"""The dbt project as Dagster sees it. The manifest is prepared once, not parsed on every load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject
from filelock import FileLock

from sudata import dbt_codegen
from sudata.settings import DBT_PROJECT_DIR
from sudata.warehouse import dbt_target

# dbt would otherwise try to send usage statistics on exit and stall on a closed network.
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

CODEGEN_STAMP = "sudata_codegen.sha256"  # beside the manifest: the registry it was rendered from

_target = dbt_target()
dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=_target,
    # a manifest names its engine's schemas: DuckDB's in target/, another engine's in target/<its name>/, so
    # a Spark run and a DuckDB run of the same checkout do not re-parse each other's away
    target_path=Path("target") if _target == "duckdb" else Path("target") / _target,
)
# one lock for the whole project: every engine's manifest is parsed from the same rendered models
MANIFEST_LOCK = DBT_PROJECT_DIR / "target" / ".manifest.lock"


def _sources_newer_than(manifest: Path) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    watched = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests", "snapshots"):
        watched.extend((DBT_PROJECT_DIR / folder).rglob("*"))
    return any(p.is_file() and p.stat().st_mtime > built for p in watched)


def _parsed_for_another_adapter(manifest: Path) -> bool:
    """A manifest parsed for another engine names that engine's schemas. Each engine parses into a folder of
    its own, but a checkout may still hold a target/manifest.json parsed for Spark before that was so."""
    import re

    target = dbt_project.target or "duckdb"
    adapter = "spark" if target.startswith("spark") else target
    with open(manifest, "rb") as f:  # the metadata block opens the file: no need to load all of it
        found = re.search(r'"adapter_type":\s*"([^"]+)"', f.read(4096).decode("utf-8", errors="ignore"))
    return bool(found) and found.group(1) != adapter


def ensure_manifest() -> Path:
    """Render the registry into the dbt project, then run ``dbt parse`` when the manifest is missing or
    older than the project's files. Rendering is skipped when the registry and the code that renders it
    are what the manifest was last prepared from (a stamp beside it): loading the definitions of 1,000
    sources must not rewrite thousands of generated files to find them unchanged."""
    manifest = dbt_project.manifest_path
    manifest.parent.mkdir(parents=True, exist_ok=True)
    # The code server, a run's process and `dagster dev` may load the definitions at the same moment:
    # one renders and parses, the others wait and find the manifest ready.
    with FileLock(MANIFEST_LOCK):
        return _prepare_manifest(manifest)


def _prepare_manifest(manifest: Path) -> Path:
    stamp = manifest.with_name(CODEGEN_STAMP)
    rendered_from = dbt_codegen.fingerprint()
    if not (manifest.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == rendered_from):
        dbt_codegen.write()
    if _sources_newer_than(manifest) or _parsed_for_another_adapter(manifest):
        dbt = Path(sys.executable).with_name("dbt")
        subprocess.run(
            [os.fspath(dbt), "parse", "--quiet", "--profiles-dir", os.fspath(DBT_PROJECT_DIR),
             "--target", dbt_project.target or "duckdb", "--target-path", os.fspath(dbt_project.target_path)],
            cwd=DBT_PROJECT_DIR, check=True,
        )
    if not stamp.exists() or stamp.read_text(encoding="utf-8") != rendered_from:
        stamp.write_text(rendered_from, encoding="utf-8")
    return manifest
