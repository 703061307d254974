"""``sudata directory``: the spreadsheet template of directory entries (目录), importing what departments
submit, and the annual openness plan against what was opened (sudata.directory)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sudata.directory import Directory, TemplateError, plan_progress, write_template
from sudata.settings import get_paths
from sudata.store import PublishedStore


def add_commands(sub) -> None:
    d = sub.add_parser("directory", help="directory entries (目录): template, import, openness plan")
    dsub = d.add_subparsers(dest="directory_command", required=True)
    p = dsub.add_parser("template", help="write the xlsx template departments fill in")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_template)
    p = dsub.add_parser("import", help="import a filled-in template (invalid rows are reported and left out)")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_import)
    p = dsub.add_parser("plan", help="the openness plan of a year against what was opened")
    p.add_argument("--year", type=int, default=date.today().year)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan)


def _directory() -> Directory:
    return Directory(PublishedStore(get_paths().published))


def cmd_template(args) -> int:
    print(f"template written to {write_template(args.file)}")
    return 0


def cmd_import(args) -> int:
    try:
        report = _directory().import_file(args.file)
    except TemplateError as exc:
        raise SystemExit(f"sudata directory import: {exc}") from None
    print(f"{args.file.name}: {report.imported} entries imported ({report.added} new, {report.updated} updated),"
          f" {len(report.errors)} rows left out")
    for e in report.errors:
        print(f"  row {e['row']}: {e['message']}")
    return 1 if report.errors else 0


def cmd_plan(args) -> int:
    store = PublishedStore(get_paths().published)
    names = set()
    if store.exists():
        names = {d["name"] for d in store.datasets(include_closed=False) if d.get("current_version")}
    plan = plan_progress(_directory().entries(), names, args.year)
    if args.json:
        print(json.dumps(plan, ensure_ascii=False, indent=2))
        return 0
    print(f"{plan['year']}: {plan['planned']} planned, {plan['opened']} opened, {plan['overdue']} overdue")
    for d in plan["by_department"]:
        print(f"  {d['department_name']}: {d['opened']}/{d['planned']} opened, {d['overdue']} overdue")
    for e in plan["overdue_entries"]:
        print(f"  overdue: {e['code']} {e['title']} (planned {e['planned_open_date']}, {e['department_name']})")
    return 0
