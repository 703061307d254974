"""A version's CSV and JSON as one part per drop date, shared with the version before where unchanged.

A mart that carries ``_drop_date`` (the drop that delivered each row's current values) is published in
the order (drop date, primary key), and each drop date's rows are one part of the CSV and of the JSON. A
night writes the part of its own drop and the parts whose rows changed (a correction moves a row from its
old drop's part to the new one, a withdrawal removes it), all by one export cut at their rows; every other
part is read from a hard link to the current version's file that holds it, so the store keeps one copy of
it. A mart without ``_drop_date`` is one part.

Whether a part changed is known before it is written: its fingerprint is the sha256 of the export's form
(format and its DuckDB options, columns and their types, the SQL that formats them, :data:`REVISION`) and
of the part's row count and sum of row hashes, computed by the warehouse in one pass. Consumers get the whole file: the index
records it as segments (:mod:`sudata.assembled`), byte-identical to a single export of the same rows.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sudata.assembled import assembled_size, missing_pieces, sha256_of
from sudata.sql import quote_ident, quote_literal

PART_COLUMN = "_drop_date"
# How DuckDB writes a version's CSV and JSON, here and in sudata.publish (a single export must match the parts)
CSV_DIALECT = "delimiter ',', quote '\"'"
JSON_ARRAY = "(format json, array true)"
REVISION = 1  # raise it when the bytes written for the same rows change: every part is then written anew
_SLUG = re.compile(r"[0-9A-Za-z_.-]{1,64}")


@dataclass(frozen=True)
class Part:
    key: str | None  # the drop date as text; "" for a mart published as one part
    first_row: int  # row number in the version's data.parquet
    rows: int
    digest: str  # sum of the rows' hashes


def part_column(types: dict[str, str]) -> str | None:
    return PART_COLUMN if PART_COLUMN in types else None


def row_order(types: dict[str, str], primary_key: list[str] | tuple[str, ...]) -> str:
    """The order a version's rows are written in: by part, then by primary key."""
    keys = [quote_ident(c) for c in primary_key if c in types]
    part = part_column(types)
    if part:
        keys.insert(0, f"cast({quote_ident(part)} as varchar) nulls last")
    return ", ".join(keys) or "1"


def partitions(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], types: dict[str, str]) -> list[Part]:
    """The parts of ``relation``'s published ``columns``, in :func:`row_order`."""
    part = part_column(types)
    key = f"cast({quote_ident(part)} as varchar)" if part else "''"
    digest = f"cast(sum(cast(hash({', '.join(quote_ident(c) for c in columns)}) as hugeint)) as varchar)"
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

    The parts to write are written by one export, then cut at their row boundaries (a row is one line of
    DuckDB's JSON array, and of its CSV unless a value holds a line break: each such part is then written
    by an export of its own). ``select`` is the select list that formats the rows. Returns the entry's
    ``segments``, ``size``, ``sha256`` and ``parts_written`` (how many were written rather than shared)."""
    form = json.dumps([REVISION, fmt, CSV_DIALECT if fmt == "csv" else JSON_ARRAY, select, sorted(types.items())],
                      ensure_ascii=False)
    before = {}
    if previous is not None:
        before = {s["part"]: s for s in previous[1].get("segments", []) if "part" in s}
    folder = Path(directory) / "parts" / fmt
    folder.mkdir(parents=True, exist_ok=True)
    pieces: dict[str | None, dict] = {}
    fresh: list[tuple[Part, str]] = []
    for p in parts:
        if not p.rows:
            continue
        fingerprint = hashlib.sha256(json.dumps([form, p.key, p.rows, p.digest]).encode()).hexdigest()
        old = before.get(p.key)
        if old and old.get("fingerprint") == fingerprint and _link(previous[0], old, Path(directory) / old["path"]):
            pieces[p.key] = old
        else:
            fresh.append((p, fingerprint))
    if fresh:
        pieces.update(_write_fresh(con, parquet, fmt, select, fresh, Path(directory)))
    ordered = [pieces[p.key] for p in parts if p.rows]
    segments = _frame(con, parquet, fmt, select, ordered)
    entry = {"segments": segments, "size": assembled_size(segments)}
    entry["sha256"] = sha256_of(directory, entry)
    return {**entry, "parts_written": len(fresh)}


def _write_fresh(con, parquet: Path, fmt: str, select: str, fresh: list[tuple[Part, str]],
                 directory: Path) -> dict[str | None, dict]:
    """The parts ``fresh`` (with their fingerprints), written by one export into a file named by its
    content, then cut into one segment per part."""
    name = hashlib.sha256("".join(f for _, f in fresh).encode()).hexdigest()[:20]
    rel = f"parts/{fmt}/{name}.{fmt}"
    ranges = " or ".join(f"(file_row_number >= {p.first_row} and file_row_number < {p.first_row + p.rows})"
                         for p, _ in fresh)
    _export(con, parquet, fmt, select, ranges, directory / rel)
    cuts = _row_offsets(directory / rel, fmt, [p.rows for p, _ in fresh])
    if cuts is None:  # a CSV value holds a line break: rows are not lines, each part gets its own export
        (directory / rel).unlink()
        out = {}
        for p, fingerprint in fresh:
            one = f"parts/{fmt}/{_slug(p.key)}-{fingerprint[:12]}.{fmt}"
            _export(con, parquet, fmt, select,
                    f"file_row_number >= {p.first_row} and file_row_number < {p.first_row + p.rows}", directory / one)
            (offset, size), = _row_offsets(directory / one, fmt, [p.rows], lines=False)
            out[p.key] = {"path": one, "offset": offset, "size": size, "part": p.key, "rows": p.rows,
                          "fingerprint": fingerprint}
        return out
    return {p.key: {"path": rel, "offset": offset, "size": size, "part": p.key, "rows": p.rows, "fingerprint": fingerprint}
            for (p, fingerprint), (offset, size) in zip(fresh, cuts, strict=True)}


def _export(con, parquet: Path, fmt: str, select: str, where: str, target: Path) -> None:
    # no ORDER BY: a scan of one file keeps the file's order (preserve_insertion_order, DuckDB's default)
    source = f"read_parquet({quote_literal(str(parquet))}, file_row_number = true)"
    options = f"(header false, {CSV_DIALECT})" if fmt == "csv" else JSON_ARRAY
    con.execute(f"copy (select {select} from {source} where {where}) to {quote_literal(str(target))} {options}")


def _row_offsets(path: Path, fmt: str, counts: list[int], lines: bool = True) -> list[tuple[int, int]] | None:
    """(offset, size) in ``path`` of each run of ``counts`` rows, as a part's segment holds them: CSV lines
    with their line ends; JSON array items without the comma and line end after the last one. ``None``
    when the file does not hold one row per line. With ``lines=False`` the file is one run."""
    size = path.stat().st_size
    start, end = (2, size - 3) if fmt == "json" else (0, size)  # DuckDB's array: "[\n" rows "\n]\n"
    if fmt == "json":
        with open(path, "rb") as f:
            head, _ = f.read(2), f.seek(size - 3)
            if head != b"[\n" or f.read(3) != b"\n]\n":
                raise ValueError(f"{path}: not the JSON array form this store assembles")
    if not lines:
        return [(start, end - start)]
    bounds = list(itertools.accumulate(counts))
    ends = _line_ends(path, start, end, bounds)
    if ends is None:
        return None
    out, offset = [], start
    for stop in ends:  # just after the run's last line end
        if fmt == "json":  # the items without the ",\n" after the last (the file's last item has none: end)
            out.append((offset, (stop - 2 if stop < end else end) - offset))
        else:
            out.append((offset, stop - offset))
        offset = stop
    return out


def _line_ends(path: Path, start: int, end: int, bounds: list[int]) -> list[int] | None:
    """The offset just after line ``b`` (counted from 1) in [start, end) for each ``b`` of ``bounds``
    (ascending; the last line may be unterminated); ``None`` unless there are exactly ``bounds[-1]`` lines."""
    wanted, found, seen, pos = iter(bounds), [], 0, start
    target = next(wanted)
    with open(path, "rb") as f:
        f.seek(start)
        while pos < end:
            chunk = f.read(min(1 << 22, end - pos))
            here = chunk.count(b"\n")
            i = -1
            while target is not None and seen + here >= target:  # the target line ends in this chunk
                for _ in range(target - seen):
                    i = chunk.find(b"\n", i + 1)
                here -= target - seen
                seen = target
                found.append(pos + i + 1)
                target = next(wanted, None)
            seen += here
            pos += len(chunk)
    if end > start and (not found or found[-1] != end) and target == seen + 1:
        found.append(end)  # the JSON array's last item has no line end
        seen, target = seen + 1, next(wanted, None)
    return found if target is None and seen == bounds[-1] else None


def _frame(con, parquet: Path, fmt: str, select: str, pieces: list[dict]) -> list[dict]:
    """The parts between what a single export writes around its rows (CSV: BOM and header; JSON: the
    array's brackets and the comma between two rows)."""
    if fmt == "csv":
        header = Path(parquet).with_name(f".{Path(parquet).name}.header.csv")
        try:
            con.execute(f"copy (select {select} from read_parquet({quote_literal(str(parquet))}) limit 0)"
                        f" to {quote_literal(str(header))} (header, {CSV_DIALECT})")
            return [{"text": "\ufeff" + header.read_text("utf-8")}, *pieces]
        finally:
            header.unlink(missing_ok=True)
    if not pieces:
        return [{"text": "[\n\t\n]\n"}]  # DuckDB's form of an empty array
    out: list[dict] = [{"text": "[\n"}]
    for i, piece in enumerate(pieces):
        if i:
            out.append({"text": ",\n"})
        out.append(piece)
    return [*out, {"text": "\n]\n"}]


def _link(previous_dir: Path, old: dict, target: Path) -> bool:
    """Hard-link the previous version's part into the new version (False when it cannot: the part is then
    written anew)."""
    source = Path(previous_dir) / old["path"]
    if missing_pieces(previous_dir, {"segments": [old]}):
        return False
    if target.exists():  # another part of the same file linked it already
        return os.path.samefile(source, target)
    try:
        os.link(source, target)
    except OSError:
        return False
    return True
