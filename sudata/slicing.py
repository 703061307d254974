"""Su Online slices: one Parquet file per grassroots unit, cut from a dataset version at publish time.

The publication step (:func:`sudata.publish.export_version`) calls :func:`write_slices` on a cursor of
the warehouse connection, beside the CSV and JSON, and returns its result as the ``slices`` entry::

    slices = write_slices(cursor, "select * from read_parquet('<version>/data.parquet')",
                          directory / "suonline", spec.scope_column, primary_key=spec.primary_key)
    return {"row_count": ..., "files": ..., "schema": ..., "slices": slices}

It writes ``<slice directory>/<unit_code>.parquet`` for every unit of :mod:`sudata.units` (128 files,
empty ones included, so every unit gets a complete, checksummed delivery each night) and returns
``[{unit_code, unit_level, row_count, sha256, path}]`` with ``path`` relative to the version directory
(the slice directory's parent), e.g. ``suonline/320508021.parquet``.

Who gets which rows:

* ``scope_column="street_code"``: a street gets the rows carrying its code. A district gets the union of
  its streets plus the rows whose street is unknown (null, or not a code of the master data) but whose
  district is known, from the ``district_code`` column when the dataset has one, else from the first six
  digits of the street code. Rows with neither a known street nor a known district reach no unit.
* ``scope_column="district_code"`` (e.g. air quality): a district gets its rows, and each of its streets
  gets the same rows (a street sees its district's air).

Rows inside a slice are sorted by the primary key (by all columns when none is given), so slices are
stable for paging and diffing.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import duckdb

from sudata import units as units_master
from sudata.files import sha256_file
from sudata.publish import COPY_OPTIONS  # slices are written as the version's Parquet file is
from sudata.settings import duckdb_connect
from sudata.sql import quote_ident, quote_literal

SCOPE_COLUMNS = ("street_code", "district_code")
SLICE_DIR = "suonline"


def _copy_slices(con, table: str, unit_column: str, order: str | None, out_dir: Path,
                 codes: list[str]) -> dict[str, int]:
    """One Parquet file per unit: its rows of ``table`` (sorted by unit), ordered by key, written by DuckDB.

    DuckDB writes each file itself, under the connection's memory cap; the table's sort by unit lets each
    unit's scan skip the row groups of the others. ``order`` is the key to sort each unit's rows by, or
    ``None`` when the table holds them in key order already (a filtered scan keeps the table's order). A
    unit without rows gets an empty file with the same schema. Returns the row count per unit code.
    """
    counts = dict(con.execute(f"select {unit_column}, count(*) from {table} where {unit_column} is not null "
                              f"group by all").fetchall())
    for code in codes:
        target = quote_literal(str(out_dir / f"{code}.parquet"))
        sort = f" order by {order}" if order else ""
        con.execute(f"copy (select * exclude (_su_street_, _su_district_) from {table} "
                    f"where {unit_column} = {quote_literal(code)}{sort}) to {target} {COPY_OPTIONS['parquet']}")
    return {code: counts.get(code, 0) for code in codes}


def _same_file(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def write_slices(
    con: duckdb.DuckDBPyConnection | None,
    data: str | Path,
    directory: str | Path,
    scope_column: str,
    *,
    primary_key: list[str] | tuple[str, ...] = (),
) -> list[dict]:
    """Write one Parquet slice per unit into ``directory`` and describe them.

    ``data`` is the version's Parquet file (a :class:`~pathlib.Path`; read in a private DuckDB database,
    the caller's connection is left untouched), or, with ``con``, the name of a table or view of that
    connection or a ``SELECT`` statement. ``directory`` is the slice directory, ``<version>/suonline``
    in the published store. ``scope_column`` is ``street_code`` or ``district_code``. Returns the slice
    entries expected by :meth:`PublishedStore.publish` (paths relative to ``directory``'s parent).
    """
    if scope_column not in SCOPE_COLUMNS:
        raise ValueError(f"unsupported Su Online scope column {scope_column!r} (expected one of {SCOPE_COLUMNS})")
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)

    if isinstance(data, Path) or con is None:
        con, own = duckdb_connect(), True  # a private database: the slicing may be large
        src_sql = f"read_parquet({quote_literal(Path(data).as_posix())})"
    else:
        own = False
        rel = data.strip()
        src_sql = f"({rel})" if rel.lower().startswith(("select", "with", "from")) else rel

    tag = uuid.uuid4().hex[:12]
    t_streets, t_districts, t_rows = f"_su_streets_{tag}", f"_su_districts_{tag}", f"_su_rows_{tag}"
    try:
        columns = [r[0] for r in con.execute(f"describe select * from {src_sql}").fetchall()]
        if scope_column not in columns:
            raise ValueError(f"write_slices: the data has no scope column {scope_column!r} (columns: {columns})")
        missing = [k for k in primary_key if k not in columns]
        if missing:
            raise ValueError(f"write_slices: primary key columns {missing} are not in the data")

        con.execute(f"create temp table {t_streets} (street_code varchar primary key, district_code varchar)")
        con.executemany(f"insert into {t_streets} values (?, ?)",
                        [(s.code, s.district_code) for s in units_master.streets()])
        con.execute(f"create temp table {t_districts} (district_code varchar primary key)")
        con.executemany(f"insert into {t_districts} values (?)", [(d.code,) for d in units_master.districts()])

        keys = primary_key or columns
        order = ", ".join(quote_ident(k) for k in keys)
        src_order = ", ".join(f"src.{quote_ident(k)}" for k in keys)

        def code_of(col: str) -> str:
            return f"nullif(trim(cast(src.{quote_ident(col)} as varchar)), '')"

        if scope_column == "street_code":
            street = code_of("street_code")
            district_hint = code_of("district_code") if "district_code" in columns else "null"
            con.execute(
                f"""create temp table {t_rows} as
                    select src.*, st.street_code as _su_street_,
                           coalesce(st.district_code, d1.district_code, d2.district_code) as _su_district_
                    from {src_sql} as src
                    left join {t_streets} st on st.street_code = {street}
                    left join {t_districts} d1 on d1.district_code = {district_hint}
                    left join {t_districts} d2 on d2.district_code = left({street}, 6)
                    order by _su_district_, _su_street_, {src_order}"""
            )
        else:
            con.execute(
                f"""create temp table {t_rows} as
                    select src.*, cast(null as varchar) as _su_street_, d.district_code as _su_district_
                    from {src_sql} as src
                    join {t_districts} d on d.district_code = {code_of("district_code")}
                    order by _su_district_, {src_order}"""
            )

        streets = [u for u in units_master.all_units() if u.level != units_master.DISTRICT]
        districts = [u for u in units_master.all_units() if u.level == units_master.DISTRICT]
        # the rows are sorted by unit, then key: a street's rows (a district's, by district scope) are in order
        by_street = scope_column == "street_code"
        counts = _copy_slices(con, t_rows, "_su_district_", order if by_street else None, out_dir,
                              [d.code for d in districts])
        if scope_column == "district_code":
            for unit in streets:  # a street sees its district's rows: the same file (linked where possible)
                _same_file(out_dir / f"{unit.district_code}.parquet", out_dir / f"{unit.code}.parquet")
                counts[unit.code] = counts[unit.district_code]
        else:
            counts.update(_copy_slices(con, t_rows, "_su_street_", None, out_dir, [u.code for u in streets]))
        slices: list[dict] = []
        for unit in units_master.all_units():
            target = out_dir / f"{unit.code}.parquet"
            slices.append({
                "unit_code": unit.code,
                "unit_level": unit.level,
                "row_count": counts[unit.code],
                "sha256": sha256_file(target),
                "path": f"{out_dir.name}/{unit.code}.parquet",
            })
        return slices
    finally:
        for t in (t_rows, t_streets, t_districts):
            try:
                con.execute(f"drop table if exists {t}")
            except duckdb.Error:
                pass
        if own:
            con.close()
