"""Spreadsheet formula injection: a text cell that would start a formula (= + - @ tab CR) is written with
a leading single quote in every CSV and Excel output; numbers are untouched."""

from __future__ import annotations

import csv
import io

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook, load_workbook

from portal.ckan import Params
from portal.datastore import Datastore, Table, search
from portal.jsonutil import dumps
from portal.signing import Signer
from portal.suonline.service import excel_value
from sudata.assembled import open_version_file
from sudata.datasets import DatasetSpec
from sudata.publish import export_version, neutralise_formula

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+86 512 6522 0000", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "普通文本", "a=b"]
EXPECTED = ["'" + v for v in HOSTILE[:6]] + HOSTILE[6:]


def test_the_rule():
    assert [neutralise_formula(v) for v in HOSTILE] == EXPECTED
    assert neutralise_formula("") == ""


def test_published_csv(tmp_path):
    con = duckdb.connect()
    con.execute("create table t (id integer, note varchar, amount double)")
    con.executemany("insert into t values (?, ?, ?)", [(i, v, -1.5 * i) for i, v in enumerate(HOSTILE, 1)])
    spec = DatasetSpec(name="notes", unique_id="model.notes", relation="t", description="",
                       catalog={"title": "备注", "open_type": "unconditional", "primary_key": ["id"]},
                       columns=[{"name": "id"}, {"name": "note"}, {"name": "amount"}])
    built = export_version(con, spec, tmp_path)
    with open_version_file(tmp_path, built["files"]["csv"]) as f:
        rows = list(csv.DictReader(io.StringIO(f.read().decode("utf-8-sig"), newline="")))
    assert [r["note"] for r in rows] == EXPECTED
    assert [r["amount"] for r in rows] == [str(-1.5 * i) for i in range(1, len(HOSTILE) + 1)]  # numbers as they are
    # the Parquet and JSON files keep the values themselves: they are not spreadsheets
    assert [r[0] for r in con.execute(f"select note from read_parquet('{tmp_path / 'data.parquet'}')").fetchall()] \
        == HOSTILE


def test_datastore_search_csv_and_tsv(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"note": HOSTILE, "n": list(range(-4, len(HOSTILE) - 4))}), path)
    store = Datastore()
    try:
        for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
            p = Params({"records_format": fmt, "fields": "note,n"})
            result, _ = search(store, Table("t", 1, str(path), len(HOSTILE)), "t", p, {}, p.int, p.bool,
                               Signer(b"s", "test"))
            rows = list(csv.reader(io.StringIO(result["records"], newline=""), delimiter=delimiter))
            assert [r[0] for r in rows] == EXPECTED
            assert [r[1] for r in rows] == [str(n) for n in range(-4, len(HOSTILE) - 4)]
        p = Params({"fields": "note"})
        result, _ = search(store, Table("t", 1, str(path), len(HOSTILE)), "t", p, {}, p.int, p.bool,
                           Signer(b"s", "test"))
        assert b'"=HYPERLINK' in dumps(result["records"])  # JSON records are data, not spreadsheet cells
    finally:
        store.close()


def test_su_online_workbook_cells(tmp_path):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("s")
    for v in HOSTILE:
        ws.append([excel_value(v), excel_value(-3), excel_value(2.5)])
    wb.save(tmp_path / "w.xlsx")
    cells = list(load_workbook(tmp_path / "w.xlsx").active.iter_rows())
    assert [row[0].value for row in cells] == [v.replace("\r", "\n") if v.startswith("'\r") else v for v in EXPECTED]
    assert all(row[0].data_type == "s" for row in cells)  # text, never a formula
    assert {(row[1].value, row[2].value) for row in cells} == {(-3, 2.5)}
