"""Write one dataset version's files from the warehouse: Parquet, CSV (UTF-8 with BOM), JSON,
a Frictionless ``datapackage.json``, and the Su Online slices of scoped datasets.

Everything is written by DuckDB streaming from the warehouse relation; nothing loads a table into Python.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from sudata.crash import crash_point
from sudata import parts
from sudata.files import sha256_file
from sudata.datasets import DatasetSpec
from sudata.sql import quote_ident, quote_literal

TABLE_SCHEMA_TYPES = {
    "VARCHAR": "string", "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "datetime",
    "TIMESTAMP WITH TIME ZONE": "datetime", "BIGINT": "integer", "INTEGER": "integer", "SMALLINT": "integer",
    "TINYINT": "integer", "HUGEINT": "integer", "UBIGINT": "integer", "UINTEGER": "integer", "DOUBLE": "number",
    "FLOAT": "number", "REAL": "number",
}
MEDIA_TYPES = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv", "json": "application/json"}
LICENSE = {"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/", "title": "Creative Commons Attribution 4.0"}


# A text cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """OWASP's rule for spreadsheet output: a text cell that would start a formula gets a leading quote."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _csv_text(column: str) -> str:
    """The SQL form of :func:`neutralise_formula` for one text column (numbers are never touched)."""
    starts = ", ".join(f"chr({ord(p)})" for p in FORMULA_PREFIXES)
    col = quote_ident(column)
    return f"case when left({col}, 1) in ({starts}) then chr(39) || {col} else {col} end"


def _csv_column(column: str, duck_type: str) -> str:
    if _table_schema_type(duck_type) == "datetime":
        return f"strftime({quote_ident(column)}, '%Y-%m-%dT%H:%M:%S') as {quote_ident(column)}"
    if duck_type.upper() == "VARCHAR":
        return f"{_csv_text(column)} as {quote_ident(column)}"
    return quote_ident(column)


def _table_schema_type(duck_type: str) -> str:
    t = duck_type.upper()
    if t.startswith("DECIMAL"):
        return "number"
    return TABLE_SCHEMA_TYPES.get(t, "string")


def _format_select(fmt: str, columns: list[str], types: dict[str, str]) -> str:
    """The select list that writes ``columns`` as ``fmt``: CSV gets ISO datetimes with 'T' (Table Schema's
    default) and text that would start a spreadsheet formula quoted; Parquet and JSON take the values."""
    if fmt == "csv":
        return ", ".join(_csv_column(c, types[c]) for c in columns)
    return ", ".join(quote_ident(c) for c in columns)


COPY_OPTIONS = {
    "parquet": "(format parquet, compression zstd, row_group_size 122880)",
    "csv": f"(header, {parts.CSV_DIALECT})",
    "json": parts.JSON_ARRAY,
}
CSV_BOM = b"\xef\xbb\xbf"


def export_columns(con: duckdb.DuckDBPyConnection, parquet: Path, columns: list[str], target: Path, fmt: str) -> None:
    """Write ``columns`` of a version's Parquet file to ``target`` as one plain ``fmt`` file (parquet, csv
    or json), as a version's files read (used for the field subsets an authorisation opens).

    CSV gets a BOM so Excel opens Chinese text correctly."""
    if fmt not in COPY_OPTIONS:
        raise ValueError(f"unknown format {fmt}")
    source = f"read_parquet({quote_literal(str(parquet))})"
    types = {r[0]: r[1] for r in con.execute(f"describe select * from {source}").fetchall()}
    select = f"select {_format_select(fmt, columns, types)} from {source}"
    if fmt != "csv":
        con.execute(f"copy ({select}) to {quote_literal(str(target))} {COPY_OPTIONS[fmt]}")
        return
    body = target.with_name(f".{target.name}.body")
    con.execute(f"copy ({select}) to {quote_literal(str(body))} {COPY_OPTIONS['csv']}")
    with open(target, "wb") as out, open(body, "rb") as src:
        out.write(CSV_BOM)
        shutil.copyfileobj(src, out, 1 << 20)
    body.unlink()


def _side_by_side(con: duckdb.DuckDBPyConnection, tasks: dict[str, Callable]) -> dict:
    """Run each task (a function of a cursor) on its own cursor of ``con``, side by side; return their results.

    The cursors are queries of one database, under its one memory cap; DuckDB releases the GIL while it
    works, so one task's Python share (line offsets, checksums) and another's export overlap."""
    cursors = {name: con.cursor() for name in tasks}
    try:
        with ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="export") as pool:
            futures = {name: pool.submit(task, cursors[name]) for name, task in tasks.items()}
            return {name: f.result() for name, f in futures.items()}
    finally:
        for cur in cursors.values():
            cur.close()


def export_version(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, directory: Path,
                   previous: tuple[Path, dict] | None = None) -> dict:
    """Write the version files of ``spec`` into ``directory``; return what the published store records.

    ``previous`` is the current version's directory and files: the CSV and JSON parts it holds unchanged
    are shared (:mod:`sudata.parts`). The descriptor's ``version`` is left empty: the store numbers the
    version when it makes it current.
    """
    directory = Path(directory)
    rel = spec.relation
    described = con.execute(f"describe select * from {rel}").fetchall()
    types = {r[0]: r[1] for r in described}
    # Keep lineage/internal columns (leading underscore) out of what is published.
    published_cols = [c for c in types if not c.startswith("_")]
    select = ", ".join(quote_ident(c) for c in published_cols)
    source_sql = f"select {select} from {rel} order by {parts.row_order(types, spec.primary_key)}"

    parquet = directory / "data.parquet"
    con.execute(f"copy ({source_sql}) to {quote_literal(str(parquet))} {COPY_OPTIONS['parquet']}")
    row_count = con.execute(f"select count(*) from read_parquet({quote_literal(str(parquet))})").fetchone()[0]
    crash_point("during_version_write")

    row_parts = parts.partitions(con, rel, published_cols, types)
    file_types = {r[0]: r[1] for r in con.execute(f"describe select * from read_parquet({quote_literal(str(parquet))})").fetchall()}
    scoped = bool(spec.catalog.get("su_online") and spec.scope_column and spec.scope_column in types)

    def write_format(cur, fmt):
        before = (previous[0], previous[1][fmt]) if previous and fmt in previous[1] else None
        return parts.write_parts(cur, parquet, fmt, _format_select(fmt, published_cols, file_types), file_types,
                                 row_parts, directory, before)

    def write_su_online(cur):
        from sudata.slicing import write_slices

        return write_slices(cur, f"select * from read_parquet({quote_literal(str(parquet))})",
                            directory / "suonline", spec.scope_column, primary_key=spec.primary_key)

    tasks = {"csv": lambda cur: write_format(cur, "csv"), "json": lambda cur: write_format(cur, "json"),
             "parquet_sha256": lambda cur: sha256_file(parquet)}
    if scoped:
        tasks["slices"] = write_su_online
    done = _side_by_side(con, tasks)
    files = {"parquet": {"path": parquet.name, "size": parquet.stat().st_size, "sha256": done["parquet_sha256"],
                         "media_type": MEDIA_TYPES["parquet"]}}
    written = {}
    for fmt in ("csv", "json"):
        entry = done[fmt]
        written[fmt] = entry.pop("parts_written")
        files[fmt] = {"path": f"data.{fmt}", **entry, "media_type": MEDIA_TYPES[fmt]}

    by_name = {c["name"]: c for c in spec.columns}
    schema = {
        "fields": [
            {
                "name": c,
                "type": _table_schema_type(types[c]),
                "title": by_name.get(c, {}).get("title", c),
                "description": by_name.get(c, {}).get("description", ""),
                "sudata:grade": by_name.get(c, {}).get("grade", "general"),
            }
            for c in published_cols
        ],
    }
    if spec.primary_key and all(k in published_cols for k in spec.primary_key):
        schema["primaryKey"] = list(spec.primary_key)

    catalog = spec.catalog
    package = {
        "name": spec.name.replace("_", "-"),
        "title": catalog.get("title", spec.name),
        "description": spec.description,
        "version": "",
        "keywords": list(catalog.get("tags") or []),
        "licenses": [LICENSE],
        "sudata:title_en": catalog.get("title_en"),
        "sudata:open_type": spec.open_type,
        "sudata:security_grade": catalog.get("security_grade"),
        "sudata:update_frequency": catalog.get("update_frequency"),
        "sudata:department": catalog.get("department"),
        "resources": [
            {
                "name": spec.name.replace("_", "-"),
                "path": "data.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8-sig",
                "bytes": files["csv"]["size"],
                "hash": f"sha256:{files['csv']['sha256']}",
                "dialect": {"delimiter": ",", "quoteChar": '"', "header": True},
                "schema": schema,
            }
        ],
        "sudata:distributions": [{"format": f, **{k: x for k, x in v.items() if k != "segments"}}
                                  for f, v in files.items()],
    }
    (directory / "datapackage.json").write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")
    files["datapackage"] = {"path": "datapackage.json", "size": (directory / "datapackage.json").stat().st_size,
                            "sha256": sha256_file(directory / "datapackage.json"), "media_type": "application/json"}

    slices = done.get("slices", [])
    return {"row_count": row_count, "files": files, "schema": schema, "slices": slices,
            "parts": {"count": len(row_parts), "written": written}}
