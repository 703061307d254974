"""Makes the bad drops of the corpus from a few real rows of the bundled sample.

`manifest.yaml` names each case's maker. Text cases small enough to read are also committed under `files/`
(``python -m tests.bad_drops.make --write`` writes them again); binary, re-encoded and large ones are made
at test time only.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import yaml

from sudata.registry import Source, load_registry
from sudata.settings import PROJECT_ROOT

HERE = Path(__file__).parent
MANIFEST = HERE / "manifest.yaml"
TEMPLATE_DATE = "2026-11-23"
REG = load_registry()


def cases() -> list[dict]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["cases"]


@dataclass
class Template:
    """The header and first rows of a source's sample drop, as text."""
    source: Source
    header: list[str]
    rows: list[list[str]]

    def col(self, name: str) -> int:
        return self.header.index(self.source.columns[self.source.column_names.index(name)].header)


def template(source: Source, n: int = 5) -> Template:
    (path,) = (PROJECT_ROOT / "raw" / source.folder / TEMPLATE_DATE).glob(source.files)
    if source.format == "csv":
        text = path.read_bytes().decode("utf-8-sig" if source.encoding == "utf-8" else source.encoding)
        table = list(csv.reader(io.StringIO(text)))
        return Template(source, table[0], table[1: n + 1])
    if source.format == "json":
        records = json.loads(path.read_text(encoding="utf-8"))["data"][:n]
        header = list(records[0])
        return Template(source, header, [["" if r[h] is None else str(r[h]) for h in header] for r in records])
    ws = openpyxl.load_workbook(path).active
    table = [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
    return Template(source, table[0], table[1: n + 1])


def csv_text(header: list[str], rows: list[list[str]], sep: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


def xlsx(sheets: list[tuple[str, list[list]]], merge: str | None = None) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets:
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    if merge:
        wb.worksheets[0].merge_cells(merge)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def records(t: Template) -> list[dict]:
    return [dict(zip(t.header, r)) for r in t.rows]


# --- makers: Template -> bytes ------------------------------------------------------------------------------

def good(t: Template) -> bytes:
    if t.source.format == "json":
        return json.dumps({"total": len(t.rows), "data": records(t)}, ensure_ascii=False).encode()
    if t.source.format == "xlsx":
        return xlsx([("Sheet1", [t.header, *t.rows])])
    return csv_text(t.header, t.rows).encode(t.source.encoding)


def in_gbk(t):
    return csv_text(t.header, t.rows).encode("gbk")


def in_utf8(t):
    return csv_text(t.header, t.rows).encode("utf-8")


def utf8_with_bom(t):
    return codecs.BOM_UTF8 + csv_text(t.header, t.rows).encode("utf-8")


def utf16_le_bom(t):
    return csv_text(t.header, t.rows).encode("utf-16")  # Python writes the BOM, little-endian here


def utf16_be_no_bom(t):
    return csv_text(t.header, t.rows).encode("utf-16-be")


def utf32_json(t):
    return json.dumps({"data": records(t)}, ensure_ascii=False).encode("utf-32")


def truncated_csv(t):
    text = csv_text(t.header, t.rows).encode(t.source.encoding)
    return text[: text.rstrip(b"\n").rfind(b",") - 3]  # the last row cut inside a field, no final newline


def truncated_xlsx(t):
    data = good(t)
    return data[: len(data) * 2 // 3]


def zip_named_csv(t):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("bus_stops.csv", good(t))
    return out.getvalue()


def png_named_csv(t):
    import struct
    import zlib

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def xlsx_named_csv(t):
    return xlsx([("Sheet1", [t.header, *t.rows])])


def csv_named_xlsx(t):
    return csv_text(t.header, t.rows).encode("utf-8")


def empty(t):
    return b""


def header_only(t):
    return csv_text(t.header, []).encode(t.source.encoding)


def missing_column(t):
    return csv_text(t.header[:1] + t.header[2:], [r[:1] + r[2:] for r in t.rows]).encode(t.source.encoding)


def extra_column(t):
    return csv_text([*t.header, "备注"], [[*r, "核对"] for r in t.rows]).encode(t.source.encoding)


def renamed_column(t):
    return csv_text([t.header[0] + "（新）", *t.header[1:]], t.rows).encode(t.source.encoding)


def reordered_columns(t):
    return csv_text(t.header[::-1], [r[::-1] for r in t.rows]).encode(t.source.encoding)


def type_drift(t):
    rows = [list(r) for r in t.rows]
    rows[0][t.col("longitude")] = "东经120度"
    return csv_text(t.header, rows).encode(t.source.encoding)


def overflow(t):
    rows = [list(r) for r in t.rows]
    rows[0][t.col("students")] = "9" * 40
    return csv_text(t.header, rows).encode(t.source.encoding)


def huge_field(t):
    rows = [list(r) for r in t.rows]
    rows[1][1] = "站" * (10 * 1024 * 1024 // 3)  # 10 MB of UTF-8
    return csv_text(t.header, rows).encode(t.source.encoding)


def embedded_newlines_and_quotes(t):
    rows = [list(r) for r in t.rows]
    rows[0][1] = '北门"东"\n（临时站）'
    return csv_text(t.header, rows).encode(t.source.encoding)


def unbalanced_quote(t):
    lines = csv_text(t.header, t.rows).splitlines()
    lines[2] = lines[2].replace(",", ',"', 1)  # a quote opened, never closed
    return ("\n".join(lines) + "\n").encode(t.source.encoding)


def nul_in_field(t):
    rows = [list(r) for r in t.rows]
    rows[2][1] = "人民\x00路"
    return csv_text(t.header, rows).encode(t.source.encoding)


def control_characters(t):
    rows = [list(r) for r in t.rows]
    rows[3][1] = "人民路\x07\x1b[2J"
    return csv_text(t.header, rows).encode(t.source.encoding)


def fullwidth_digits(t):
    rows = [list(r) for r in t.rows]
    rows[0][t.col("students")] = "１２３４"
    return csv_text(t.header, rows).encode(t.source.encoding)


def future_dates(t):
    rows = [list(r) for r in t.rows]
    rows[0][t.col("observed_at")] = "2036-11-23 00:00:00"
    return csv_text(t.header, rows).encode(t.source.encoding)


def conflicting_duplicate_keys(t):
    twin = list(t.rows[0])
    twin[t.col("school_name")] = twin[t.col("school_name")] + "（分校）"
    return csv_text(t.header, [*t.rows, twin]).encode(t.source.encoding)


def semicolon_separated(t):
    return csv_text(t.header, t.rows, sep=";").encode(t.source.encoding)


def json_array_of_arrays(t):
    return json.dumps([t.header, *t.rows], ensure_ascii=False).encode()


def json_wrong_key(t):
    return json.dumps({"total": len(t.rows), "list": records(t)}, ensure_ascii=False).encode()


def json_malformed(t):
    text = json.dumps({"data": records(t)}, ensure_ascii=False, indent=1)
    return text.replace("}\n ]", "},\n ]").replace('": ', '" ', 1).encode()


def json_scalar(t):
    return json.dumps("导出失败：会话超时", ensure_ascii=False).encode()


def json_english_keys(t):
    keys = dict(zip(t.header, t.source.column_names))
    return json.dumps({"data": [{keys[k]: v for k, v in r.items()} for r in records(t)]}, ensure_ascii=False).encode()


def xlsx_data_on_second_sheet(t):
    return xlsx([("说明", [t.header]), ("数据", [t.header, *t.rows])])


def xlsx_merged_title(t):
    title = ["苏州市行政处罚信息公示（2026年11月）"] + [None] * (len(t.header) - 1)
    return xlsx([("Sheet1", [title, t.header, *t.rows])], merge=f"A1:{chr(ord('A') + len(t.header) - 1)}1")


MAKERS = {name: fn for name, fn in list(globals().items()) if callable(fn) and getattr(fn, "__module__", "") == __name__
          and name not in {"cases", "template", "csv_text", "xlsx", "records"} and not isinstance(fn, type)}


def make(case: dict) -> bytes:
    if "file" in case:
        return (HERE / case["file"]).read_bytes()
    return MAKERS[case["make"]](template(REG[case["source"]]))


def write_committed() -> None:
    """Rewrite the committed text cases from their makers."""
    for case in cases():
        if "file" in case:
            (HERE / case["file"]).parent.mkdir(parents=True, exist_ok=True)
            (HERE / case["file"]).write_bytes(MAKERS[case["make"]](template(REG[case["source"]])))


if __name__ == "__main__" and "--write" in sys.argv:
    write_committed()
