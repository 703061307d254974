"""A unit's delivery as one Excel workbook: a cover sheet, then one sheet per dataset with Chinese headers.

Written with openpyxl's write-only mode, row batch by row batch, so memory stays flat however large
the slices; the caller streams the finished file and deletes it.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from portal.suonline.service import OPEN_TYPE_LABELS, Delivery, column_titles, excel_value, to_local
from sudata.units import Unit

COVER_SHEET = "交付清单"
EXCEL_MAX_ROWS = 1_048_576
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F6F5C")


def sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name (≤ 31 characters, none of []:*?/\\)."""
    base = _SHEET_FORBIDDEN.sub("_", title).strip("'") or "数据"
    base = base[:31]
    name, n = base, 2
    while name.lower() in {t.lower() for t in taken}:
        suffix = f"({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name)
    return name


def _header(ws, values: list[str]) -> list[WriteOnlyCell]:
    cells = []
    for v in values:
        c = WriteOnlyCell(ws, value=v)
        c.font = _HEADER_FONT
        c.fill = _HEADER_FILL
        c.alignment = Alignment(vertical="center", wrap_text=True)
        cells.append(c)
    return cells


def _width(text: str) -> float:
    # CJK characters are about twice as wide as Latin ones.
    return min(60.0, max(8.0, sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(text)) + 2))


def write_workbook(path: Path, unit: Unit, deliveries: list[Delivery], generated_at: dt.datetime) -> int:
    """Write the workbook to ``path``; return the number of data rows written."""
    wb = Workbook(write_only=True)
    taken: set[str] = {COVER_SHEET}
    cover = wb.create_sheet(COVER_SHEET)
    sheets = [(d, sheet_name(d.dataset.get("title") or d.name, taken)) for d in deliveries]

    cover_header = ["数据集", "英文名称", "数据集标识", "提供部门", "开放属性", "版本", "发布时间", "行数",
                    "新增", "变更", "删除", "工作表", "SHA-256 校验值"]
    for i, h in enumerate(cover_header, start=1):
        cover.column_dimensions[get_column_letter(i)].width = 66 if h.startswith("SHA") else _width(h) + 6
    cover.append([WriteOnlyCell(cover, value=f"苏在线 · {unit.full_name}（{unit.code}）数据交付")])
    cover.append(["生成时间", generated_at.strftime("%Y-%m-%d %H:%M:%S")])
    cover.append([])
    cover.append(_header(cover, cover_header))
    notes: list[str] = []
    for d, name in sheets:
        ch = d.changes_since_previous()
        published = to_local(d.version["published_at"])
        cover.append([
            d.dataset.get("title") or d.name, d.dataset.get("title_en") or "", d.name,
            d.dataset.get("department_name") or d.dataset.get("department") or "",
            OPEN_TYPE_LABELS.get(d.dataset.get("open_type"), d.dataset.get("open_type") or ""),
            d.version["version"], published.strftime("%Y-%m-%d %H:%M") if published else "",
            d.row_count,
            ch["added"] if ch else None, ch["changed"] if ch else None, ch["removed"] if ch else None,
            name, d.sha256 or "",
        ])
        if d.withheld:
            titles = column_titles(d.dataset)
            withheld = "、".join(f"“{titles.get(c, c)}”" for c in d.withheld)
            notes.append(f"{d.dataset.get('title') or d.name}：{withheld}含明文身份证号码，已拒绝提供。")
        if d.row_count > EXCEL_MAX_ROWS - 1:
            notes.append(f"{d.dataset.get('title') or d.name}：超过 Excel 行数上限，仅含前 {EXCEL_MAX_ROWS - 1} 行，"
                         "完整数据请使用接口。")
    if notes:
        cover.append([])
        for n in notes:
            cover.append(["说明", n])

    total = 0
    for d, name in sheets:
        ws = wb.create_sheet(name)
        titles = column_titles(d.dataset)
        headers = [titles.get(c, c) for c, _ in d.columns()]
        for i, h in enumerate(headers, start=1):
            ws.column_dimensions[get_column_letter(i)].width = _width(h)
        ws.freeze_panes = "A2"
        ws.append(_header(ws, headers))
        room = EXCEL_MAX_ROWS - 1
        for batch in d.iter_batches():
            for row in batch[:room]:
                ws.append([excel_value(v) for v in row])
            room -= min(room, len(batch))
            if room == 0:
                break
        total += EXCEL_MAX_ROWS - 1 - room
    wb.save(path)
    return total
