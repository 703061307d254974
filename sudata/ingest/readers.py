"""Readers for the formats departments deliver. Each yields the header and data rows as text.

Anything that cannot be read faithfully raises ``QuarantineError`` with a reason an engineer can act
on; rows that are individually broken are returned separately so the rest of the file still lands.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from charset_normalizer import from_bytes

from sudata.ingest.sniff import WrongContent, check_content
from sudata.registry import Source

if TYPE_CHECKING:
    import pyarrow as pa

# Excel's limit for one cell: a longer field cannot be a value a department meant to publish.
MAX_FIELD_CHARS = 32_767
# C0 control characters other than tab, newline and carriage return, and DEL: never part of a text value.
_CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_NOT_CONTROL = bytes(b for b in range(256) if not re.match(_CONTROL.encode(), bytes([b])))


class QuarantineError(Exception):
    """The whole file cannot be loaded; the message says why and what to do."""


@dataclass
class Parsed:
    header: list[str]
    table: "pa.Table"                        # one string column per delivered header
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)  # (row_number, reason, raw text)
    numbers: list[int] = field(default_factory=list)  # 1-based data-row number of each row in ``rows``
    row_offset: int = 0  # added to a data-row number to give the row number bad_rows report (CSV: the file's row)


def read_file(path: Path, source: Source) -> Parsed:
    data = path.read_bytes()
    if not data.strip():
        raise QuarantineError("file is empty (0 data bytes): ask the department to redeliver")
    try:
        check_content(data, source, path.suffix)
    except WrongContent as exc:
        raise QuarantineError(str(exc)) from None
    reader = {"csv": _read_csv, "json": _read_json, "xlsx": _read_xlsx}[source.format]
    parsed = _set_aside_oversized(reader(data, source))
    if parsed.table.num_rows == 0:
        if parsed.bad_rows:
            reasons = sorted({r for _, r, _ in parsed.bad_rows})
            raise QuarantineError(f"no row could be read: all {len(parsed.bad_rows)} rows are broken ({'; '.join(reasons)[:500]})")
        raise QuarantineError("file has a header but no data rows: ask the department to redeliver")
    return parsed


def _set_aside(parsed: Parsed, mask, reason_of) -> Parsed:
    """Move the rows where ``mask`` is true from the table to ``bad_rows`` (reason_of(i) says why for row i)."""
    import pyarrow as pa

    flags = mask.to_pylist()
    if not any(flags):
        return parsed
    rows = parsed.table.to_pylist()
    bad = list(parsed.bad_rows)
    for i, flagged in enumerate(flags):
        if flagged:
            raw = ",".join("" if v is None else v[:100] for v in rows[i].values())
            bad.append((parsed.numbers[i] + parsed.row_offset, reason_of(i), raw[:500]))
    keep = pa.array([not f for f in flags])
    numbers = [n for n, f in zip(parsed.numbers, flags) if not f]
    return Parsed(header=parsed.header, table=parsed.table.filter(keep), bad_rows=bad, numbers=numbers,
                  row_offset=parsed.row_offset)


def _set_aside_oversized(parsed: Parsed) -> Parsed:
    """Rows with a field longer than an Excel cell holds. Byte lengths (read from Arrow's offsets, no scan) rule
    out nearly every file before characters are counted."""
    import pyarrow.compute as pc

    table = parsed.table
    long_columns = [h for h in table.column_names
                    if table.num_rows and (pc.max(pc.binary_length(table.column(h))).as_py() or 0) > MAX_FIELD_CHARS]
    if not long_columns:
        return parsed
    lengths = {h: pc.fill_null(pc.utf8_length(table.column(h)), 0) for h in long_columns}
    mask = None
    for h in long_columns:
        over = pc.greater(lengths[h], MAX_FIELD_CHARS)
        mask = over if mask is None else pc.or_(mask, over)
    mask = mask.combine_chunks() if hasattr(mask, "combine_chunks") else mask

    def reason(i: int) -> str:
        h = next(h for h in long_columns if lengths[h][i].as_py() > MAX_FIELD_CHARS)
        return (f"field '{h}' holds {lengths[h][i].as_py():,} characters, more than the {MAX_FIELD_CHARS:,} an Excel "
                f"cell holds: an export error (a file or log pasted into a cell?)")

    return _set_aside(parsed, mask, reason)


def _set_aside_control_characters(parsed: Parsed) -> Parsed:
    import pyarrow.compute as pc

    table = parsed.table
    hits = {h: pc.fill_null(pc.match_substring_regex(table.column(h), _CONTROL), False) for h in table.column_names}
    hits = {h: m for h, m in hits.items() if pc.any(m).as_py()}
    if not hits:
        return parsed
    mask = None
    for m in hits.values():
        mask = m if mask is None else pc.or_(mask, m)
    mask = mask.combine_chunks() if hasattr(mask, "combine_chunks") else mask

    def reason(i: int) -> str:
        h = next(h for h, m in hits.items() if m[i].as_py())
        char = re.search(_CONTROL, table.column(h)[i].as_py()).group()
        name = "NUL" if char == "\x00" else f"U+{ord(char):04X}"
        return f"field '{h}' contains the control character {name}: corrupted in export; fix the record and redeliver"

    return _set_aside(parsed, mask, reason)


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

    codec = "utf-8-sig" if source.encoding.lower() in ("utf-8", "utf8") else source.encoding
    bad: list[tuple[int, str, str]] = []

    unbalanced: list[str] = []

    def on_invalid(row) -> str:
        text = row.text or ""
        if text.count('"') % 2 and text.count("\n") > 1:
            unbalanced.append(text)  # an exception raised here would not leave Arrow's reader
        reason = f"row has {row.actual_columns} fields, header has {row.expected_columns}"
        bad.append((row.number or 0, reason, text[:500]))
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
        if not unbalanced:
            raise QuarantineError(f"not a readable CSV file ({exc}); truncated or not comma-separated?") from None
    if unbalanced:
        text = unbalanced[0]
        line = data[: data.find(text[:200].encode(codec.replace("-sig", ""), "replace"))].count(b"\n") + 1
        raise QuarantineError(
            f"unbalanced double quote: the field opened on line {line} never closes, so the {text.count(chr(10))} "
            f"lines after it read as one value; fix the quoting (a quote inside a field is written \"\") and redeliver"
        )
    header = [_clean_header(h) for h in table.column_names]
    if len(header) == 1 and (sep := next((c for c in ";\t|" if c in header[0]), None)):
        raise QuarantineError(
            f"the header is one column separated by {sep!r}, not by commas: ask for a comma-separated export"
        )
    table = table.rename_columns(header)
    table = pa.table({h: table.column(i).cast(pa.string()) for i, h in enumerate(header)})
    if not data.endswith((b"\n", b"\r")) and bad and bad[-1][0] in (0, table.num_rows + len(bad) + 1):
        n, reason, raw = bad[-1]
        bad[-1] = (n, reason + " (last line without newline: file truncated?)", raw)
    numbers = _good_row_numbers(table.num_rows, bad)
    parsed = Parsed(header=header, table=table, bad_rows=bad, numbers=numbers, row_offset=1)
    # Control characters cannot occur in GBK or UTF-8 multi-byte sequences: a byte scan (deleting every other
    # byte, at memory speed) rules out nearly every file before any column is searched.
    return _set_aside_control_characters(parsed) if data.translate(None, _NOT_CONTROL) else parsed


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
            kind = "an array (a header row and value rows instead of one object per record?)" if isinstance(rec, list) \
                else f"a {type(rec).__name__}"
            bad.append((i, f"record is {kind}, not a JSON object", json.dumps(rec, ensure_ascii=False)[:500]))
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
        hint = " The file is plain text (a CSV export named .xlsx?)." if _is_text(data) else " Truncated or not Excel 2007+?"
        raise QuarantineError(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc}).{hint}") from None
    try:
        header = [_clean_header(h) for h in next(values)]
    except StopIteration:
        _data_elsewhere(wb, sheet.name, source)
        raise QuarantineError(f"the first worksheet '{sheet.name}' is empty") from None
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
    if not set(source.headers) <= set(header):
        _header_further_down(sheet, header, source)
    if not rows:
        _data_elsewhere(wb, sheet.name, source)
    return Parsed(header=header, table=_columns(header, rows), numbers=numbers, row_offset=1)


def _is_text(data: bytes) -> bool:
    try:
        data[:4096].decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _header_further_down(sheet, header: list[str], source: Source) -> None:
    """A title row (often merged across the table) above the real header: name the row the header is on."""
    expected = set(source.headers)
    for k, row in enumerate(sheet.to_python(skip_empty_area=False)[1:11], start=2):
        if expected <= {_clean_header(v) for v in row}:
            merged = [_cell_range(r) for r in (sheet.merged_cell_ranges or []) if r[0][0] < k - 1]
            above = f"merged cells {', '.join(merged)}" if merged else f"'{' '.join(h for h in header if h)[:60]}'"
            raise QuarantineError(
                f"the header is on row {k}, not row 1: the rows above it ({above}) are a title, not data; "
                f"ask for the sheet with the header in row 1"
            )


def _cell_range(r) -> str:
    (r0, c0), (r1, c1) = r
    col = lambda c: (col(c // 26 - 1) if c >= 26 else "") + chr(ord("A") + c % 26)  # noqa: E731
    return f"{col(c0)}{r0 + 1}:{col(c1)}{r1 + 1}"


def _data_elsewhere(wb, first: str, source: Source) -> None:
    """The first sheet holds no data rows: name the sheet that does, if one has the source's header."""
    expected = set(source.headers)
    for i, name in enumerate(wb.sheet_names[1:], start=2):
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        if rows and expected <= {_clean_header(v) for v in rows[0]}:
            n = sum(1 for r in rows[1:] if any(v not in (None, "") for v in r))
            if n:
                raise QuarantineError(
                    f"the first sheet '{first}' has no data rows; the data ({n} rows) is on sheet {i} '{name}': "
                    f"ask for the workbook with the data on its first sheet (or delete the sheets before it)"
                )


def _xl_text(v: object) -> str | None:
    import datetime as dt

    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return _text(v)
