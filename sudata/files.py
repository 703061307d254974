"""File helpers shared by ingestion, publication and slicing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sudata.sql import quote_literal


def sha256_file(path: Path) -> str:
    """Streamed, so a file of any size is hashed in constant memory."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def content_hash(con, parquet: Path) -> str:
    """sha256 of a Parquet file's rows, sorted, as text: equal for equal content whatever the row order,
    row-group layout or writer. ``con`` is a DuckDB connection."""
    path = quote_literal(str(parquet))
    rows = con.execute(
        f"select cast(t as varchar) as r from read_parquet({path}) as t order by r"
    ).fetchall()
    h = hashlib.sha256()
    names = con.execute(f"select name from parquet_schema({path}) where num_children is null").fetchall()
    h.update(("|".join(n for (n,) in names) + "\n").encode())
    for (r,) in rows:
        h.update(r.encode() + b"\n")
    return h.hexdigest()
