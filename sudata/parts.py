"""A version's CSV and JSON as one part per drop date, shared with the version before where unchanged.

A mart that carries ``_drop_date`` (the drop that delivered each row's current values) is published in
the order (drop date, primary key), and each drop date's rows are one part of the CSV and of the JSON. A
night writes the part of its own drop and the parts whose rows changed (a correction moves a row from its
old drop's part to the new one, a withdrawal removes it); every other part is a hard link to the same part
of the current version, so the store keeps one copy of it. A mart without ``_drop_date`` is one part.

Whether a part changed is known before it is written: its fingerprint is the sha256 of the export's form
(format, columns and their types, the SQL that formats them, :data:`REVISION`) and of the part's row count
and sum of row hashes, computed by the warehouse in one pass. Consumers get the whole file: the index
records it as segments (:mod:`sudata.assembled`), byte-identical to a single export of the same rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sudata.assembled import assembled_size, missing_pieces, sha256_of

PART_COLUMN = "_drop_date"
REVISION = 1  # raise it when the bytes written for the same rows change: every part is then written anew
_SLUG = re.compile(r"[0-9A-Za-z_.-]{1,64}")


@dataclass(frozen=True)
class Part:
    key: str | None  # the drop date as text; "" for a mart published as one part
    first_row: int  # row number in the version's data.parquet
    rows: int
    digest: str  # sum of the rows' hashes


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def part_column(types: dict[str, str]) -> str | None:
    return PART_COLUMN if PART_COLUMN in types else None


def row_order(types: dict[str, str], primary_key: list[str] | tuple[str, ...]) -> str:
    """The order a version's rows are written in: by part, then by primary key."""
    keys = [_q(c) for c in primary_key if c in types]
    part = part_column(types)
    if part:
        keys.insert(0, f"cast({_q(part)} as varchar) nulls last")
    return ", ".join(keys) or "1"


def partitions(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], types: dict[str, str]) -> list[Part]:
    """The parts of ``relation``'s published ``columns``, in :func:`row_order`."""
    part = part_column(types)
    key = f"cast({_q(part)} as varchar)" if part else "''"
    digest = f"cast(sum(cast(hash({', '.join(_q(c) for c in columns)}) as hugeint)) as varchar)"
    rows = con.execute(
        f"select {key} as k, count(*), {digest} from {relation} group by k order by k nulls last"
    ).fetchall()
    out, first = [], 0
    for k, n, h in rows:
        out.append(Part(k, first, n, h or "0"))
        first += n
    return out


def _slug(key: str | None) -> str:
    if key is None:
        return "none"
    if key == "":
        return "all"
    return key if _SLUG.fullmatch(key) else "k-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def write_parts(con: duckdb.DuckDBPyConnection, parquet: Path, fmt: str, select: str, types: dict[str, str],
                parts: list[Part], directory: Path, previous: tuple[Path, dict] | None) -> dict:
    """Write ``fmt`` (csv or json) of the version whose rows are ``parquet`` as parts under ``directory``,
    linking those the ``previous`` version (its directory and its entry for ``fmt``) holds unchanged.

    ``select`` is the select list that formats the rows. Returns the entry's ``segments``, ``size``,
    ``sha256`` and ``parts_written`` (how many were written rather than shared)."""
    form = json.dumps([REVISION, fmt, select, sorted(types.items())], ensure_ascii=False)
    before = {}
    if previous is not None:
        before = {s["part"]: s for s in previous[1].get("segments", []) if "part" in s}
    source = f"read_parquet({_literal(str(parquet))}, file_row_number = true)"
    folder = Path(directory) / "parts" / fmt
    folder.mkdir(parents=True, exist_ok=True)
    pieces, written = [], 0
    for p in parts:
        if not p.rows:
            continue
        fingerprint = hashlib.sha256(json.dumps([form, p.key, p.rows, p.digest]).encode()).hexdigest()
        rel = f"parts/{fmt}/{_slug(p.key)}.{fmt}"
        old = before.get(p.key)
        if old and old.get("fingerprint") == fingerprint and _link(previous[0], old, Path(directory) / rel):
            pieces.append({**old, "path": rel})
            continue
        target = Path(directory) / rel
        rows = (f"select {select} from {source} where file_row_number >= {p.first_row}"
                f" and file_row_number < {p.first_row + p.rows} order by file_row_number")
        options = "(header false, delimiter ',', quote '\"')" if fmt == "csv" else "(format json, array true)"
        con.execute(f"copy ({rows}) to {_literal(str(target))} {options}")
        written += 1
        offset, size = 0, target.stat().st_size
        if fmt == "json":  # the rows of DuckDB's array, without its brackets: "[\n" rows "\n]\n"
            with open(target, "rb") as f:
                head, _ = f.read(2), f.seek(size - 3)
                tail = f.read(3)
            if head != b"[\n" or tail != b"\n]\n":
                raise ValueError(f"{target}: not the JSON array form this store assembles")
            offset, size = 2, size - 5
        pieces.append({"path": rel, "offset": offset, "size": size, "part": p.key, "rows": p.rows,
                       "fingerprint": fingerprint})
    segments = _frame(con, parquet, fmt, select, pieces)
    entry = {"segments": segments, "size": assembled_size(segments)}
    entry["sha256"] = sha256_of(directory, entry)
    return {**entry, "parts_written": written}


def _frame(con, parquet: Path, fmt: str, select: str, pieces: list[dict]) -> list[dict]:
    """The parts between what a single export writes around its rows (CSV: BOM and header; JSON: the
    array's brackets and the comma between two rows)."""
    if fmt == "csv":
        with _scratch(parquet, ".header.csv") as header:
            con.execute(f"copy (select {select} from read_parquet({_literal(str(parquet))}) limit 0)"
                        f" to {_literal(str(header))} (header, delimiter ',', quote '\"')")
            return [{"text": "\ufeff" + header.read_text("utf-8")}, *pieces]
    if not pieces:
        return [{"text": "[\n\t\n]\n"}]  # DuckDB's form of an empty array
    out: list[dict] = [{"text": "[\n"}]
    for i, piece in enumerate(pieces):
        if i:
            out.append({"text": ",\n"})
        out.append(piece)
    return [*out, {"text": "\n]\n"}]


class _scratch:
    def __init__(self, beside: Path, suffix: str):
        self.path = Path(beside).with_name(f".{Path(beside).name}{suffix}")

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)


def _link(previous_dir: Path, old: dict, target: Path) -> bool:
    """Hard-link the previous version's part into the new version (False when it cannot: the part is then
    written anew)."""
    if missing_pieces(previous_dir, {"segments": [old]}):
        return False
    try:
        os.link(Path(previous_dir) / old["path"], target)
    except OSError:
        return False
    return True
