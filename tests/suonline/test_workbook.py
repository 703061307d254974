"""The Excel workbook: a cover sheet, one sheet per dataset, Chinese headers, the unit's rows."""

import datetime as dt
import glob
import io
import os
import tempfile
from decimal import Decimal
from urllib.parse import unquote

import openpyxl
import pytest

from sudata import units

from .conftest import SPECS, WITHHELD, auth, expected_rows, records_all


@pytest.mark.parametrize("code", ["320508", "320508021", "320585403"])
def test_workbook(world, client, code):
    leftovers = set(glob.glob(os.path.join(tempfile.gettempdir(), "suonline-*.xlsx")))
    key = world.keys[code]
    r = client.get(f"/suonline/units/{code}/workbook.xlsx", headers=auth(key))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = unquote(r.headers["content-disposition"])
    assert "attachment" in disposition and f"苏在线_{units.get(code).full_name}_" in disposition
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "suonline-*.xlsx"))) <= leftovers   # streamed, deleted

    book = openpyxl.load_workbook(io.BytesIO(r.content))
    manifest = client.get(f"/suonline/units/{code}/manifest", headers=auth(key)).json()["result"]
    assert book.sheetnames == ["交付清单", *[d["title"] for d in manifest["datasets"]]]

    cover = [row for row in book["交付清单"].iter_rows(values_only=True)]
    assert code in cover[0][0]
    header = cover[3]
    assert header[:8] == ("数据集", "英文名称", "数据集标识", "提供部门", "开放属性", "版本", "发布时间", "行数")
    listed = {row[2]: row for row in cover[4:4 + len(manifest["datasets"])]}
    for d in manifest["datasets"]:
        row = listed[d["name"]]
        assert row[5] == d["version"] and row[7] == d["row_count"] and row[-1] == d["sha256"]
        assert row[11] == d["title"]
        if d["changes"]:
            assert (row[8], row[9], row[10]) == (d["changes"]["added"], d["changes"]["changed"], d["changes"]["removed"])

        spec = SPECS[d["name"]]
        ws = book[d["title"]]
        rows = list(ws.iter_rows(values_only=True))
        titles = [c[2] for c in spec.columns if c[0] not in WITHHELD.get(spec.name, ())]
        assert list(rows[0]) == titles                          # Chinese headers from the column titles
        assert len(rows) - 1 == d["row_count"] == len(expected_rows(spec, world.current(spec.name), units.get(code)))
        assert ws.freeze_panes == "A2"

        # Same values as the JSON rows, in the same (key) order.
        records = records_all(client, code, spec.name, key)["records"]
        names = [f["id"] for f in records_all(client, code, spec.name, key, limit=1)["fields"]]
        for rec, cells in zip(records, rows[1:]):
            assert [normal(rec[n]) for n in names] == [normal(v) for v in cells]


def normal(v):
    """Compare Excel cells and JSON values: dates as ISO dates, numbers as floats."""
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
        return round(float(v), 6)
    return v


