"""``sudata onboard FILE --department D``: print a draft registry entry for a delivered file."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "onboard", help="draft a registry entry (encoding, columns, types, grades) from a delivered file",
        description="Read a CSV, xlsx or JSON file a department delivered and print a draft registry entry "
        "for review: encoding, format, columns with inferred types, required flags, a primary key and "
        "suggested grades. Uncertain inferences carry '# review:' notes.",
    )
    p.add_argument("file", type=Path, help="the delivered file")
    p.add_argument("--department", required=True, help="department id: the registry file registry/<id>.yml")
    p.set_defaults(func=cmd_onboard)


def cmd_onboard(args: argparse.Namespace) -> int:
    from sudata.ingest.readers import QuarantineError
    from sudata.onboard import OnboardError, onboard
    from sudata.settings import REGISTRY_DIR

    registry = Path(os.environ.get("SUDATA_REGISTRY", REGISTRY_DIR))
    try:
        print(onboard(args.file, args.department, registry), end="")
    except (OnboardError, QuarantineError, OSError) as exc:
        print(f"sudata onboard: {args.file}: {exc}", file=sys.stderr)
        return 1
    return 0
