"""Directory entries (目录): catalog entries that departments declare for data this pipeline does not
serve (catalogued and served elsewhere, or planned for opening), and the annual openness plan.

Departments fill in the spreadsheet template (``sudata directory template``) and submit it; ``sudata
directory import`` checks every row and writes the valid ones to ``directory_entries`` in the published
store's index, keyed by the entry's code (a resubmitted row updates its entry). Invalid rows are
reported with their row number and left out. An entry is opened when it names its opening date or a
dataset the catalog lists; the plan of a year is the entries whose planned opening date falls in it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sudata.ledger import utcnow
from sudata.store import PublishedStore
from sudata.vocabulary import DOMAINS, OPEN_TYPE_LABELS, UPDATE_FREQUENCIES

# (header in the template, field, required, what to write)
COLUMNS: tuple[tuple[str, str, bool, str], ...] = (
    ("目录编码", "code", True, "本部门目录中的唯一编码，如 320500-MZJ-0001；再次报送同一编码即更新该条目"),
    ("目录名称", "title", True, "数据资源名称"),
    ("英文名称", "title_en", False, ""),
    ("提供部门代码", "department", True, "部门代码，如 civil_affairs"),
    ("提供部门", "department_name", True, "部门全称"),
    ("所属领域", "domain", True, "、".join(DOMAINS)),
    ("数据摘要", "description", False, "数据内容说明"),
    ("开放属性", "open_type", True, "无条件开放 / 有条件开放 / 不予开放"),
    ("更新频率", "update_frequency", False, " / ".join(UPDATE_FREQUENCIES)),
    ("计划开放日期", "planned_open_date", False, "YYYY-MM-DD；不予开放的条目不填"),
    ("开放日期", "opened_date", False, "已开放的填写开放日期"),
    ("对应数据集", "dataset", False, "本平台上提供该数据的数据集名称（如有）"),
    ("标签", "tags", False, "以逗号或顿号分隔"),
)
HEADERS = {h: f for h, f, _, _ in COLUMNS}
OPEN_TYPES_BY_LABEL = {v: k for k, v in OPEN_TYPE_LABELS.items()}

SCHEMA = """
create table if not exists directory_entries (
    code               text primary key,
    title              text not null,
    title_en           text,
    department         text not null,
    department_name    text not null,
    domain             text not null,
    description        text,
    open_type          text not null check (open_type in ('unconditional', 'conditional', 'closed')),
    update_frequency   text,
    planned_open_date  text,
    opened_date        text,
    dataset            text,
    tags               text not null default '[]',
    source_file        text,
    created_at         text not null,
    updated_at         text not null
);
"""


class TemplateError(ValueError):
    """The file is not the directory template (missing sheet or headers)."""


@dataclass
class ImportReport:
    imported: int = 0
    added: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)   # {row, message}


def write_template(path: Path) -> Path:
    """The spreadsheet template departments fill in: headers, a note per column, value lists."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "目录"
    for i, (header, _, required, note) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=i, value=header)
        cell.font = Font(bold=required)
        if note:
            cell.comment = Comment(("必填。" if required else "") + note, "sudata")
        ws.column_dimensions[cell.column_letter].width = max(12, len(header) * 3)
    lists = {"open_type": list(OPEN_TYPES_BY_LABEL), "update_frequency": list(UPDATE_FREQUENCIES),
             "domain": list(DOMAINS)}
    options = wb.create_sheet("选项")
    for j, (fname, values) in enumerate(lists.items(), start=1):
        for k, v in enumerate(values, start=1):
            options.cell(row=k, column=j, value=v)
        letter = options.cell(row=1, column=j).column_letter
        col = next(i for i, (_, f, _, _) in enumerate(COLUMNS, start=1) if f == fname)
        dv = DataValidation(type="list", formula1=f"=选项!${letter}$1:${letter}${len(values)}", allow_blank=True)
        ws.add_data_validation(dv)
        dv.add(f"{ws.cell(row=2, column=col).column_letter}2:{ws.cell(row=2, column=col).column_letter}5000")
    path = Path(path)
    wb.save(path)
    return path


def _date(value, header: str) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip().replace("/", "-").replace(".", "-")
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text) or re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text)
    if not m:
        raise ValueError(f"{header} {value!r} is not a date (YYYY-MM-DD)")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        raise ValueError(f"{header} {value!r} is not a date") from None


def parse_row(raw: dict) -> dict:
    """A template row as an entry, or ValueError saying what is wrong."""
    row = {f: ("" if v is None else v) for f, v in raw.items()}
    for header, fname, required, _ in COLUMNS:
        if isinstance(row.get(fname), str):
            row[fname] = row[fname].strip()
        if required and row.get(fname) in (None, ""):
            raise ValueError(f"{header} is required")
    code = str(row["code"])
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z_.\-]{0,63}", code):
        raise ValueError(f"目录编码 {code!r}: letters, digits, - _ . only (up to 64)")
    open_type = OPEN_TYPES_BY_LABEL.get(row["open_type"], row["open_type"])
    if open_type not in OPEN_TYPE_LABELS:
        raise ValueError(f"开放属性 {row['open_type']!r} is not one of {', '.join(OPEN_TYPES_BY_LABEL)}")
    if row["domain"] not in DOMAINS:
        raise ValueError(f"所属领域 {row['domain']!r} is not a domain of the catalog")
    freq = str(row.get("update_frequency") or "")
    if freq and freq not in UPDATE_FREQUENCIES:
        raise ValueError(f"更新频率 {freq!r} is not one of {' / '.join(UPDATE_FREQUENCIES)}")
    planned = _date(row.get("planned_open_date"), "计划开放日期")
    opened = _date(row.get("opened_date"), "开放日期")
    if open_type != "closed" and not planned and not opened:
        raise ValueError("计划开放日期 is required for an entry to be opened (or 开放日期 once it is)")
    tags = [t for t in re.split(r"[,，、;；\s]+", str(row.get("tags") or "")) if t]
    return {
        "code": code, "title": str(row["title"]), "title_en": str(row.get("title_en") or ""),
        "department": str(row["department"]), "department_name": str(row["department_name"]),
        "domain": row["domain"], "description": str(row.get("description") or ""), "open_type": open_type,
        "update_frequency": freq, "planned_open_date": planned, "opened_date": opened,
        "dataset": str(row.get("dataset") or "") or None, "tags": tags,
    }


def read_template(path: Path) -> list[tuple[int, dict]]:
    """(spreadsheet row number, raw values by field) of every non-empty row of the template's first sheet."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise TemplateError(f"{Path(path).name}: not an xlsx workbook ({exc})") from exc
    ws = wb["目录"] if "目录" in wb.sheetnames else wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(h or "").strip() for h in next(rows, ())]
    missing = [h for h, _, required, _ in COLUMNS if required and h not in header]
    if missing:
        raise TemplateError(f"{Path(path).name}: not the directory template (no column {', '.join(missing)})")
    out = []
    for n, values in enumerate(rows, start=2):
        if not any(v not in (None, "") for v in values):
            continue
        out.append((n, {HEADERS[h]: v for h, v in zip(header, values) if h in HEADERS}))
    wb.close()
    return out


class Directory:
    def __init__(self, store: PublishedStore):
        self.store = store

    def connect(self) -> sqlite3.Connection:
        con = self.store.connect()
        con.executescript(SCHEMA)
        return con

    def import_file(self, path: Path) -> ImportReport:
        report = ImportReport()
        entries = []
        seen: dict[str, int] = {}
        for n, raw in read_template(path):
            try:
                entry = parse_row(raw)
                if entry["code"] in seen:
                    raise ValueError(f"目录编码 {entry['code']} repeats row {seen[entry['code']]}")
                seen[entry["code"]] = n
                entries.append(entry)
            except ValueError as exc:
                report.errors.append({"row": n, "message": str(exc)})
        now = utcnow()
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            existing = {r[0] for r in con.execute("select code from directory_entries")}
            for e in entries:
                values = {**e, "tags": json.dumps(e["tags"], ensure_ascii=False), "source_file": Path(path).name,
                          "created_at": now, "updated_at": now}
                cols = ", ".join(values)
                updates = ", ".join(f"{k} = excluded.{k}" for k in values if k not in ("code", "created_at"))
                con.execute(f"insert into directory_entries ({cols}) values ({', '.join(':' + k for k in values)})"
                            f" on conflict (code) do update set {updates}", values)
                report.added += e["code"] not in existing
                report.updated += e["code"] in existing
            con.execute("commit")
        report.imported = len(entries)
        return report

    def entries(self) -> list[dict]:
        if not self.store.exists():
            return []
        with closing(self.connect()) as con:
            return [{**dict(r), "tags": json.loads(r["tags"])}
                    for r in con.execute("select * from directory_entries order by code")]


def plan_progress(entries: list[dict], listed: set[str], year: int, today: date | None = None) -> dict:
    """The openness plan of ``year``: entries planned to open in it, those opened (an opening date, or a
    dataset the catalog lists), and those overdue (planned date passed, not opened)."""
    today = today or date.today()
    planned = [e for e in entries if e["open_type"] != "closed" and (e.get("planned_open_date") or "").startswith(str(year))]

    def opened(e: dict) -> bool:
        return bool(e.get("opened_date")) or bool(e.get("dataset") and e["dataset"] in listed)

    done = [e for e in planned if opened(e)]
    overdue = [e for e in planned if not opened(e) and e["planned_open_date"] < today.isoformat()]
    by_department: dict[str, dict] = {}
    for e in planned:
        d = by_department.setdefault(e["department"], {"department": e["department"],
                                                        "department_name": e["department_name"],
                                                        "planned": 0, "opened": 0, "overdue": 0})
        d["planned"] += 1
        d["opened"] += opened(e)
        d["overdue"] += e in overdue
    return {"year": year, "planned": len(planned), "opened": len(done), "overdue": len(overdue),
            "overdue_entries": [{"code": e["code"], "title": e["title"], "planned_open_date": e["planned_open_date"],
                                 "department_name": e["department_name"]} for e in overdue[:50]],
            "by_department": sorted(by_department.values(), key=lambda d: d["department"])}
