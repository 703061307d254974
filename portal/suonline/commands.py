"""``sudata units list [--level district|street]``: the Su Online units.

Their keys are handled with every other key: ``sudata keys issue --unit CODE``, ``sudata keys list --units``,
``sudata keys revoke ID``.
"""

from __future__ import annotations

import sys

from sudata import units


def cmd_list(args) -> int:
    rows = [u for u in units.all_units() if not args.level or u.level == args.level]
    for u in rows:
        indent = "" if u.level == units.DISTRICT else "  "
        print(f"{indent}{u.code}\t{u.level}\t{u.full_name}")
    print(f"{len(rows)} units", file=sys.stderr)
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("units", help="Su Online units (their keys: sudata keys issue --unit CODE)")
    sub = p.add_subparsers(dest="units_command", required=True)
    ls = sub.add_parser("list", help="list the 10 districts and 118 streets")
    ls.add_argument("--level", choices=units.LEVELS)
    ls.set_defaults(func=cmd_list)
