"""Resources, configured by environment variables so the same code runs in tests, CI and production."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.project import dbt_project
from sudata.settings import Paths, get_paths
from sudata.store import PublishedStore


class SudataResource(dg.ConfigurableResource):
    """Where the pipeline reads drops and writes the lake, warehouse, quarantine and published store.

    Empty values fall back to SUDATA_HOME / SUDATA_RAW (read when the run starts, not at import).
    """

    home: str = ""
    raw: str = ""

    @property
    def paths(self) -> Paths:
        default = get_paths()
        return Paths(
            home=Path(self.home).resolve() if self.home else default.home,
            raw=Path(self.raw).resolve() if self.raw else default.raw,
        )

    @property
    def store(self) -> PublishedStore:
        return PublishedStore(self.paths.published)


def build_resources() -> dict:
    return {
        "sudata": SudataResource(),
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            profiles_dir=os.fspath(dbt_project.project_dir),
            target=os.environ.get("SUDATA_DBT_TARGET", "duckdb"),
            # The dbt installed beside this interpreter, whether or not the venv is on PATH.
            dbt_executable=os.fspath(Path(sys.executable).with_name("dbt")),
        ),
    }
