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

    def locations(self) -> dict[str, str]:
        """Where data goes, as the paths resolve in this process (the code location's environment)."""
        paths = self.paths
        return {
            "landing zone (departmental drops)": str(paths.raw),
            "lake (landed Parquet)": str(paths.lake),
            "quarantine": str(paths.quarantine),
            "warehouse (dbt)": warehouse_location(paths),
            "published store": str(paths.published),
        }

    def get_resource_definition(self):
        # The UI's resources page shows the definition's description: say there where each layer lives.
        definition = super().get_resource_definition()
        where = "\n".join(f"- {name}: {location}" for name, location in self.locations().items())
        definition._description = f"{dg_doc(type(self))}\n\nWhere data goes:\n{where}"  # noqa: SLF001
        return definition


def dg_doc(cls) -> str:
    return " ".join((cls.__doc__ or "").split())


def warehouse_location(paths: Paths) -> str:
    """The warehouse dbt builds into for SUDATA_DBT_TARGET (the profile in dbt_project/profiles.yml)."""
    target = os.environ.get("SUDATA_DBT_TARGET", "duckdb")
    if target == "duckdb":
        return str(paths.warehouse)
    if target == "postgres":
        env = os.environ.get
        return (f"postgresql://{env('SUDATA_PG_HOST', '127.0.0.1')}:{env('SUDATA_PG_PORT', '5432')}/"
                f"{env('SUDATA_PG_DATABASE', 'sudata')} schema {env('SUDATA_PG_SCHEMA', 'public')}")
    if target == "spark":
        return str(paths.spark_warehouse)
    return f"the {target} target of dbt_project/profiles.yml"


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
