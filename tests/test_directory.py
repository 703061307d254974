"""Directory entries (目录): the xlsx template, importing what departments submit (invalid rows reported
with their row number), resubmission updating an entry, the entries in the catalog, and the annual
openness plan against what was opened."""

from __future__ import annotations

from datetime import date

from openpyxl import load_workbook

from cli.main import main
from portal.catalog import load_snapshot
from portal.search import search
from sudata.directory import COLUMNS, Directory, plan_progress
from sudata.store import PublishedStore

HEADERS = [h for h, *_ in COLUMNS]


def fill(template, out, rows: list[dict]):
    wb = load_workbook(template)
    ws = wb["目录"]
    for r in rows:
        ws.append([r.get(h) for h in HEADERS])
    wb.save(out)
    return out


ROWS = [
    {"目录编码": "MZJ-0001", "目录名称": "养老机构床位统计", "提供部门代码": "civil_affairs", "提供部门": "苏州市民政局",
     "所属领域": "社会民生", "数据摘要": "各养老机构的床位数与入住率。", "开放属性": "无条件开放", "更新频率": "每月",
     "计划开放日期": "2026-06-30", "标签": "养老、床位"},
    {"目录编码": "MZJ-0002", "目录名称": "社区居委会换届信息", "提供部门代码": "civil_affairs", "提供部门": "苏州市民政局",
     "所属领域": "社会民生", "开放属性": "有条件开放", "计划开放日期": date(2026, 3, 1), "开放日期": "2026-02-20"},
    {"目录编码": "MZJ-0003", "目录名称": "城乡社区名录（开放于本平台）", "提供部门代码": "civil_affairs",
     "提供部门": "苏州市民政局", "所属领域": "社会民生", "开放属性": "无条件开放", "计划开放日期": "2026-01-31",
     "对应数据集": "communities"},
    {"目录编码": "MZJ-0004", "目录名称": "低保对象名册", "提供部门代码": "civil_affairs", "提供部门": "苏州市民政局",
     "所属领域": "社会民生", "开放属性": "不予开放"},
    {"目录编码": "MZJ-0005", "目录名称": "", "提供部门代码": "civil_affairs", "提供部门": "苏州市民政局",
     "所属领域": "社会民生", "开放属性": "无条件开放", "计划开放日期": "2026-05-01"},          # no title
    {"目录编码": "MZJ-0006", "目录名称": "殡葬服务机构", "提供部门代码": "civil_affairs", "提供部门": "苏州市民政局",
     "所属领域": "殡葬", "开放属性": "无条件开放", "计划开放日期": "2026-05-01"},              # not a domain
    {"目录编码": "MZJ-0007", "目录名称": "婚姻登记处", "提供部门代码": "civil_affairs", "提供部门": "苏州市民政局",
     "所属领域": "社会民生", "开放属性": "公开", "计划开放日期": "2026-13-01"},                # two errors: first one
]


def test_template_import_resubmit_and_the_plan(paths, tmp_path, capsys):
    template = tmp_path / "目录模板.xlsx"
    assert main(["directory", "template", str(template)]) == 0
    wb = load_workbook(template)
    assert [c.value for c in wb["目录"][1]] == HEADERS
    assert wb["目录"].data_validations.dataValidation   # value lists for open type, domain, frequency

    filled = fill(template, tmp_path / "民政局.xlsx", ROWS)
    capsys.readouterr()
    assert main(["directory", "import", str(filled)]) == 1       # some rows left out
    out = capsys.readouterr().out
    assert "4 entries imported (4 new, 0 updated), 3 rows left out" in out
    assert "row 6: 目录名称 is required" in out
    assert "row 7: 所属领域 '殡葬' is not a domain of the catalog" in out
    assert "row 8: 开放属性 '公开' is not one of" in out

    store = PublishedStore(paths.published)
    entries = {e["code"]: e for e in Directory(store).entries()}
    assert set(entries) == {"MZJ-0001", "MZJ-0002", "MZJ-0003", "MZJ-0004"}
    assert entries["MZJ-0001"]["tags"] == ["养老", "床位"] and entries["MZJ-0002"]["planned_open_date"] == "2026-03-01"

    # the catalog lists the open and conditional entries, not the closed one (and MZJ-0003 while its
    # dataset, communities, is not in this store; test_kpi shows it is listed once when it is)
    snap = load_snapshot(store)
    assert sorted(d.directory["code"] for d in snap.datasets if d.directory) == ["MZJ-0001", "MZJ-0002", "MZJ-0003"]
    hit = snap.datasets[search(snap, q="养老床位").positions[0]]
    assert hit.directory["code"] == "MZJ-0001" and hit.directory["planned_open_date"] == "2026-06-30"

    # a department resubmits: the entry is updated, not duplicated
    resubmitted = fill(template, tmp_path / "民政局-2.xlsx", [{**ROWS[0], "开放日期": "2026-06-15"}])
    assert main(["directory", "import", str(resubmitted)]) == 0
    assert "1 entries imported (0 new, 1 updated)" in capsys.readouterr().out
    assert len(Directory(store).entries()) == 4

    plan = plan_progress(Directory(store).entries(), {"communities"}, 2026, today=date(2026, 7, 1))
    assert (plan["planned"], plan["opened"], plan["overdue"]) == (3, 3, 0)
    plan = plan_progress(Directory(store).entries(), set(), 2026, today=date(2026, 7, 1))
    assert (plan["planned"], plan["opened"], plan["overdue"]) == (3, 2, 1)
    assert plan["overdue_entries"][0]["code"] == "MZJ-0003"


def test_a_file_that_is_not_the_template_is_refused(paths, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["名称", "部门"])
    wb.save(tmp_path / "other.xlsx")
    try:
        main(["directory", "import", str(tmp_path / "other.xlsx")])
    except SystemExit as exc:
        assert "not the directory template (no column 目录编码" in str(exc)
    else:
        raise AssertionError("an unknown sheet was imported")
