"""The warehouse as the gate and publication read it: a DuckDB connection whatever dbt's target.

On DuckDB (the default) that is the warehouse file itself. On Spark (``SUDATA_DBT_TARGET=spark``, see
dbt_project/profiles.yml) the models are Parquet tables under ``$SUDATA_HOME/spark/warehouse`` (one folder
``<schema>.db/<table>`` each, partitioned tables in ``<column>=<value>`` folders); they are exposed as views of
the same ``schema.table`` names, so every query of the gate and of publication runs unchanged.
"""

from __future__ import annotations

import os

from sudata.settings import Paths, duckdb_connect
from sudata.sql import quote_ident, quote_literal


def dbt_target() -> str:
    return os.environ.get("SUDATA_DBT_TARGET", "duckdb")


def spark_tables(paths: Paths) -> dict[tuple[str, str], str]:
    """(schema, table) → glob of its Parquet files, for every table Spark holds under the home."""
    root = paths.spark_warehouse
    tables = {}
    for db in sorted(root.glob("*.db")) if root.exists() else []:
        for table in sorted(p for p in db.iterdir() if p.is_dir()):
            if next(table.rglob("*.parquet"), None) is not None:
                tables[(db.name[: -len(".db")], table.name)] = str(table / "**" / "*.parquet")
    return tables


def warehouse_connect(paths: Paths):
    """A read-only view of the warehouse of the configured dbt target, as a DuckDB connection."""
    if dbt_target() != "spark":
        return duckdb_connect(paths.warehouse, read_only=True, paths=paths)
    con = duckdb_connect(paths=paths)
    for (schema, table), files in spark_tables(paths).items():
        con.execute(f"create schema if not exists {quote_ident(schema)}")
        con.execute(f"create view {quote_ident(schema)}.{quote_ident(table)} as select * from "
                    f"read_parquet({quote_literal(files)}, hive_partitioning = true, union_by_name = true)")
    return con
