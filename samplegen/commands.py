"""``sudata generate``: write sample departmental drops into a landing zone."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from samplegen import DEFAULT_SEED, DEFAULT_START


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write sample departmental drops (all registered sources) into a landing zone",
        description="Write --days drop dates of every registered source under --out, about --rows data rows in total. "
        "The folders of the generated sources under --out are replaced; same arguments give the same files.",
    )
    parser.add_argument("--rows", type=int, required=True, help="approximate total number of data rows")
    parser.add_argument("--days", type=int, required=True, help="number of consecutive drop dates")
    parser.add_argument("--out", type=Path, required=True, help="landing-zone directory (e.g. raw)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START,
                        help=f"first drop date, YYYY-MM-DD (default {DEFAULT_START.isoformat()})")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from samplegen import generate

    if args.rows < 1 or args.days < 1:
        raise SystemExit("sudata generate: --rows and --days must be positive")
    summary = generate(args.out, rows=args.rows, days=args.days, seed=args.seed, start=args.start)
    width = max(len(s) for s in summary["rows"])
    for source, n in summary["rows"].items():
        print(f"  {source:<{width}}  {n:>10,}")
    print(f"{summary['total_rows']:,} rows in {len(summary['files'])} files under {summary['out']} "
          f"({summary['days']} drop dates from {summary['start']}) in {summary['seconds']}s")
    if summary["redelivered"]:
        print(f"re-delivered: {summary['redelivered']}")
    if summary["not_generated"]:
        print(f"registered but not generated: {', '.join(summary['not_generated'])}")
    return 0
