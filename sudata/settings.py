"""Where things live. Every path derives from two env vars so tests and deployments can relocate them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# SUDATA_DBT_PROJECT_DIR: another copy of the dbt project (a trial of new declarations, say)
DBT_PROJECT_DIR = Path(os.environ.get("SUDATA_DBT_PROJECT_DIR", PROJECT_ROOT / "dbt_project")).resolve()
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
REGISTRY_DIR = PROJECT_ROOT / "registry"
TIMEZONE = "Asia/Shanghai"

# Every DuckDB the pipeline opens (dbt's included, see dbt_project/profiles.yml) is capped, spilling to
# disk past the cap: the nightly run must fit beside the portal on one machine.
DEFAULT_DUCKDB_MEMORY_LIMIT = "1GB"


@dataclass(frozen=True)
class Paths:
    home: Path
    raw: Path

    @property
    def lake(self) -> Path:
        """Raw layer: one Parquet partition per source and drop date (readable by DuckDB and Spark)."""
        return self.home / "lake"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def spark_warehouse(self) -> Path:
        """Spark's tables (dbt's spark target): Parquet, one folder per schema.db/table; metastore beside it."""
        return self.home / "spark" / "warehouse"

    @property
    def state_db(self) -> Path:
        """Ingestion ledger and quarantine records (written by the pipeline only)."""
        return self.home / "state.sqlite"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def acceptances(self) -> Path:
        """The audit trail of blocking checks an engineer accepted for one version (sudata.quality.acceptances)."""
        return self.home / "acceptances.sqlite"

    @property
    def alerts(self) -> Path:
        """Every alert raised and where it was sent (sudata.monitoring.alerts)."""
        return self.home / "alerts.sqlite"

    @property
    def published(self) -> Path:
        """The published store: immutable dataset versions and the catalog index that points at them."""
        return self.home / "published"

    @property
    def portal_db(self) -> Path:
        """Keys and the access log: the only things the portal side writes."""
        return self.home / "portal" / "access.sqlite"

    @property
    def operation_db(self) -> Path:
        """Applications for use of data, zone queries, releases and their audit trail (operation/)."""
        return self.home / "operation" / "operation.sqlite"

    @property
    def spill(self) -> Path:
        """Where DuckDB spills what exceeds its memory cap."""
        return self.home / "tmp"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def data_docs(self) -> Path:
        return self.home / "gx"


def get_paths() -> Paths:
    home = Path(os.environ.get("SUDATA_HOME", PROJECT_ROOT / ".sudata")).resolve()
    raw = Path(os.environ.get("SUDATA_RAW", PROJECT_ROOT / "raw")).resolve()
    return Paths(home=home, raw=raw)


def duckdb_memory_limit() -> str:
    return os.environ.get("SUDATA_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT)


def duckdb_connect(database: Path | str = ":memory:", read_only: bool = False, paths: Paths | None = None):
    """A DuckDB connection under the pipeline's memory cap, spilling to the home's tmp directory."""
    import duckdb

    spill = (paths or get_paths()).spill
    spill.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(database), read_only=read_only,
                          config={"memory_limit": duckdb_memory_limit(), "temp_directory": str(spill)})
