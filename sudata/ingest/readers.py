"""Readers for the formats departments deliver. Each yields the header and data rows as text.

Anything that cannot be read faithfully raises ``QuarantineError`` with a reason an engineer can act
on; rows that are individually broken are returned separately so the rest of the file still lands.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

from sudata.registry import Source


class QuarantineError(Exception):
    """The whole file cannot be loaded; the message says why and what to do."""


@dataclass
class Parsed:
    header: list[str]
    table: "pa.Table"                        # one string column per delivered header
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)  # (row_number, reason, raw text)
    numbers: list[int] = field(default_factory=list)  # 1-based data-row number of each row in ``rows``


def read_file(path: Path, source: Source) -> Parsed:
    data = path.read_bytes()
    if not data.strip():
        raise QuarantineError("file is empty (0 data bytes): ask the department to redeliver")
    reader = {"csv": _read_csv, "json": _read_json, "xlsx": _read_xlsx}[source.format]
    parsed = reader(data, source)
    if parsed.table.num_rows == 0 and not parsed.bad_rows:
        raise QuarantineError("file has a header but no data rows: ask the department to redeliver")
    return parsed


def _decode(data: bytes, encoding: str) -> str:
    declared = encoding.lower().replace("_", "-")
    codec = "utf-8-sig" if declared in ("utf-8", "utf8") else declared
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        guess = from_bytes(data[:200_000]).best()
        hint = f"; it looks like {guess.encoding}" if guess is not None else ""
        truncated = exc.start >= len(data) - 4
        what = "ends inside a multi-byte character (truncated?)" if truncated else f"has an invalid byte at offset {exc.start}"
        raise QuarantineError(
            f"not valid {encoding}: the file {what}{hint}. Redeliver it in {encoding}, or correct the "
            f"source's 'encoding' in the registry if the department changed it"
        ) from None


def _clean_header(h: object) -> str:
    return str(h if h is not None else "").strip().lstrip("\ufeff").replace("\u3000", "").strip()


def _read_csv(data: bytes, source: Source) -> Parsed:
    """CSV through Arrow's reader (columnar, multi-threaded); broken rows are set aside, not fatal."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if b"\x00" in data:
        raise QuarantineError("file contains NUL bytes: it is binary or corrupted, not a CSV export")
    codec = "utf-8-sig" if source.encoding.lower() in ("utf-8", "utf8") else source.encoding
    bad: list[tuple[int, str, str]] = []

    def on_invalid(row) -> str:
        reason = f"row has {row.actual_columns} fields, header has {row.expected_columns}"
        bad.append((row.number or 0, reason, (row.text or "")[:500]))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(encoding=codec, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={}, strings_can_be_null=True, quoted_strings_can_be_null=True,
                null_values=[""], auto_dict_encode=False,
            ),
        )
    except (UnicodeDecodeError, pa.ArrowInvalid) as exc:
        _decode(data, source.encoding)  # raises the actionable encoding error when that is the cause
        raise QuarantineError(f"not a readable CSV file ({exc}); truncated or not comma-separated?") from None
    header = [_clean_header(h) for h in table.column_names]
    table = table.rename_columns(header)
    table = pa.table({h: table.column(i).cast(pa.string()) for i, h in enumerate(header)})
    if not data.endswith((b"\n", b"\r")) and bad and bad[-1][0] in (0, table.num_rows + len(bad) + 1):
        n, reason, raw = bad[-1]
        bad[-1] = (n, reason + " (last line without newline: file truncated?)", raw)
    numbers = _good_row_numbers(table.num_rows, bad)
    return Parsed(header=header, table=table, bad_rows=bad, numbers=numbers)


def _good_row_numbers(n_good: int, bad: list[tuple[int, str, str]]) -> list[int]:
    """Data-row numbers of the rows kept, given the file line numbers of the rows set aside."""
    skipped = {b[0] - 1 for b in bad if b[0]}  # line number includes the header line
    out, i = [], 1
    while len(out) < n_good:
        if i not in skipped:
            out.append(i)
        i += 1
    return out


def _read_json(data: bytes, source: Source) -> Parsed:
    text = _decode(data, source.encoding)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        tail = " (the document ends early: truncated?)" if exc.pos >= len(text.rstrip()) - 1 else ""
        raise QuarantineError(f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}{tail}") from None
    records = doc
    if isinstance(doc, dict):
        for key in ("data", "records", "rows", "result", "items"):
            if isinstance(doc.get(key), list):
                records = doc[key]
                break
        else:
            raise QuarantineError(f"JSON object has no list of records under data/records/rows/result/items (keys: {sorted(doc)[:10]})")
    if not isinstance(records, list):
        raise QuarantineError("JSON document is neither a list of records nor an export object with a 'data' list")
    del doc, text  # the records are all that is needed from here on
    # Departments' exports repeat the same few keys on every record: clean each distinct key once.
    clean_of: dict[str, str] = {}
    header: list[str] = []
    numbers: list[int] = []
    bad: list[tuple[int, str, str]] = []
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            bad.append((i, "record is not a JSON object", json.dumps(rec, ensure_ascii=False)[:500]))
            continue
        numbers.append(i)
        for k in rec:
            if k not in clean_of:
                clean_of[k] = ck = _clean_header(k)
                if ck not in header:
                    header.append(ck)
    good = [rec for rec in records if isinstance(rec, dict)] if bad else records
    del records
    # Column by column, straight from the records: no second row-wise copy of a large export.
    keys_of = {h: [k for k, ck in clean_of.items() if ck == h] for h in header}
    columns = {}
    for h in header:
        keys = keys_of[h]
        if len(keys) == 1:
            key = keys[0]
            values = [_text(rec.get(key)) for rec in good]
        else:  # spellings that clean to the same header ("名称 " and "名称"): the last one a record has wins
            values = [_text(next((rec[k] for k in reversed(list(rec)) if clean_of[k] == h), None)) for rec in good]
        columns[h] = values
    return Parsed(header=header, table=_columns_from(header, columns), bad_rows=bad, numbers=numbers)


def _distinct_names(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for h in header:  # blank or repeated headers still need distinct column names
        seen[h] = seen.get(h, 0) + 1
        names.append(h if seen[h] == 1 else f"{h}#{seen[h]}")
    return names


def _columns(header: list[str], rows: list[list[str | None]]):
    import pyarrow as pa

    return pa.table({name: pa.array([r[i] for r in rows], type=pa.string()) for i, name in enumerate(_distinct_names(header))})


def _columns_from(header: list[str], columns: dict[str, list]):
    """A table from one value list per header; each list is released as soon as it is an Arrow column."""
    import pyarrow as pa

    arrays = {}
    for h in header:
        arrays[h] = pa.array(columns.pop(h), type=pa.string())
    return pa.table(arrays)


def _text(v: object) -> str | None:
    if type(v) is str:  # nearly every value: the cheap case first
        return v or None
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    s = str(v)
    return s if s != "" else None


def _read_xlsx(data: bytes, source: Source) -> Parsed:
    # calamine (Rust) reads cell values an order of magnitude faster than openpyxl, with the same values.
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = wb.get_sheet_by_index(0)
        # From cell A1, as delivered: row numbers in quarantine reports match what the department sees.
        values = iter(sheet.to_python(skip_empty_area=False))
    except (CalamineError, zipfile.BadZipFile, KeyError, IndexError, OSError, ValueError) as exc:
        raise QuarantineError(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc}); truncated or not Excel 2007+?") from None
    try:
        header = [_clean_header(h) for h in next(values)]
    except StopIteration:
        raise QuarantineError("first worksheet is empty") from None
    while header and header[-1] == "":
        header.pop()
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    for n, row in enumerate(values, start=1):
        vals = [_xl_text(v) for v in row[: len(header)]]
        if all(v is None for v in vals):
            continue
        vals += [None] * (len(header) - len(vals))
        rows.append(vals)
        numbers.append(n)
    return Parsed(header=header, table=_columns(header, rows), numbers=numbers)


def _xl_text(v: object) -> str | None:
    import datetime as dt

    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return _text(v)
