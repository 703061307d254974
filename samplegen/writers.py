"""Files as departments deliver them: CSV (utf-8 or GBK), export-API JSON, and Excel workbooks.

CSV and JSON text is assembled column-wise with Arrow compute and written in chunks; only the Excel
writer (capped at about 100k rows a file) goes cell by cell.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook

from samplegen import vec as v

CHUNK = 500_000
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
_NUMBER_RE = re.compile(_NUMBER)
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values if values.type == pa.string() else values.cast(pa.string())


def _joined(lines: pa.Array) -> bytes:
    """The concatenation of all strings of an array, straight from its data buffer."""
    lines = lines.cast(pa.large_string())
    _, offsets, data = lines.buffers()
    o = np.frombuffer(offsets, dtype=np.int64)[lines.offset: lines.offset + len(lines) + 1]
    return bytes(memoryview(data)[o[0]: o[-1]]) if len(lines) else b""


def _flag(values: pa.Array, *needles: str) -> np.ndarray:
    """Rows containing any of the (single ASCII character) needles; a scan of the raw data buffer first skips
    the common case of none."""
    hit = np.zeros(len(values), dtype=bool)
    data = values.buffers()[2] if len(values) else None
    if data is None:
        return hit
    raw = np.frombuffer(data, dtype=np.uint8)
    for needle in needles:
        if not (raw == ord(needle)).any():
            continue
        hit |= pc.fill_null(pc.match_substring(values, needle), False).to_numpy(zero_copy_only=False)
    return hit


def _csv_field(values: pa.Array) -> pa.Array:
    """RFC 4180 quoting, only for the (few) values that need it."""
    values = pc.fill_null(values, "")
    idx = np.flatnonzero(_flag(values, ",", '"', "\n", "\r"))
    return v.patch(values, idx, lambda xs: ['"' + x.replace('"', '""') + '"' for x in xs])


def _csv_line(fields: list[str]) -> str:
    return ",".join(f'"{f.replace(chr(34), chr(34) * 2)}"' if re.search('[",\r\n]', f) else f for f in fields)


def write_csv(path: Path, t: pa.Table, columns: list[str], headers: list[str], encoding: str,
              newline: str = "\n", bom: bool = False) -> None:
    with open(path, "wb") as fh:
        head = _csv_line(headers) + newline
        fh.write(("\ufeff" if bom else "").encode("utf-8") + head.encode(encoding))
        for start in range(0, t.num_rows, CHUNK):
            part = t.slice(start, CHUNK)
            fields = [_csv_field(_text(part[c])) for c in columns]
            lines = v.cat(pc.binary_join_element_wise(*fields, ","), newline)
            data = _joined(lines)
            fh.write(data if encoding.lower().replace("-", "") in ("utf8",) else data.decode("utf-8").encode(encoding))


def _json_string(values: pa.Array) -> pa.Array:
    idx = np.flatnonzero(_flag(values, "\\", '"', "\n", "\r", "\t"))
    escaped = v.patch(values, idx, lambda xs: [json.dumps(x, ensure_ascii=False)[1:-1] for x in xs])
    return v.cat('"', escaped, '"')


def write_json(path: Path, t: pa.Table, columns: list[str], headers: list[str], numeric: set[str], export_time: str) -> None:
    """``{"total": N, "exportTime": "...", "data": [{header: value, ...}, ...]}`` like departmental export APIs."""
    keys = [_json_string(pa.array([h])).to_pylist()[0] for h in headers]
    with open(path, "wb") as fh:
        fh.write(f'{{"total": {t.num_rows}, "exportTime": "{export_time}", "data": ['.encode())
        for start in range(0, t.num_rows, CHUNK):
            part = t.slice(start, CHUNK)
            pieces: list[pa.Array | str] = []
            for i, (c, key) in enumerate(zip(columns, keys, strict=True)):
                values = _text(part[c])
                value = _json_string(values)
                if c in numeric:
                    value = pc.if_else(pc.fill_null(pc.match_substring_regex(values, _NUMBER), False), values, value)
                value = pc.fill_null(value, "null")
                pieces += [("{" if i == 0 else ", ") + key + ": ", value]
            record = v.cat("\n  ", *pieces, "},")
            data = _joined(record)
            if start + CHUNK >= t.num_rows:
                data = data[:-1]          # no comma after the last record
            fh.write(data)
        fh.write(b"\n]}\n")


def _cell(value: str | None, kind: str):
    if value is None:
        return None
    if kind == "num" and _NUMBER_RE.match(value):
        return float(value) if "." in value else int(value)
    if kind == "date" and _ISO_RE.match(value):
        return date.fromisoformat(value)
    return value


def write_xlsx(path: Path, t: pa.Table, columns: list[str], headers: list[str], kinds: dict[str, str],
               sheet: str, stamp: datetime) -> None:
    """One sheet, header row first; numbers and ISO dates become number and date cells, other text stays text."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet[:31])
    ws.append(headers)
    data = [_text(t[c]).to_pylist() for c in columns]
    col_kinds = [kinds.get(c, "text") for c in columns]
    for row in zip(*data, strict=True):
        ws.append([_cell(x, k) for x, k in zip(row, col_kinds, strict=True)])
    wb.properties.creator = "苏州市公共数据平台"
    wb.properties.created = stamp
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_pin_zip(buf.getvalue(), stamp))


def _pin_zip(content: bytes, stamp: datetime) -> bytes:
    """Make a saved workbook byte-for-byte reproducible: fixed entry times and document timestamps."""
    out = io.BytesIO()
    when = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rf"\g<1>{when}\g<3>", text)
                body = text.encode("utf-8")
            pinned = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = info.external_attr
            dst.writestr(pinned, body)
    return out.getvalue()

