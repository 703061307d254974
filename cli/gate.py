"""``sudata gate``: accept a named blocking check for the next version of a dataset, with who and why;
``sudata run --backfill SOURCE`` does the same for the row-count rule of every dataset built from a
source whose history a department delivers at once (sudata.quality.acceptances)."""

from __future__ import annotations

import json

from sudata.quality.acceptances import Acceptances
from sudata.settings import get_paths


def add_commands(sub) -> None:
    gate = sub.add_parser("gate", help="accept a blocking check for one version of a dataset, audited")
    gsub = gate.add_subparsers(dest="gate_command", required=True)
    p = gsub.add_parser("accept", help="let the next version through a named blocking check (who, why)")
    p.add_argument("dataset")
    p.add_argument("check", help="the check's name in the quality report, e.g. row_count_change")
    p.add_argument("--by", required=True, help="who accepts it")
    p.add_argument("--reason", required=True, help="why: shown in the catalog's quality report and in Dagster")
    p.set_defaults(func=cmd_accept)
    p = gsub.add_parser("withdraw", help="withdraw an acceptance not yet used")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_withdraw)
    p = gsub.add_parser("list", help="acceptances, newest first (pending, used by a version, withdrawn)")
    p.add_argument("--dataset")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)


def _ledger() -> Acceptances:
    return Acceptances(get_paths().acceptances)


def _known_dataset(name: str) -> None:
    from orchestration.project import dbt_project, ensure_manifest
    from sudata.datasets import load_datasets

    ensure_manifest()
    if name not in load_datasets(dbt_project.manifest_path):
        raise SystemExit(f"sudata gate: no published dataset {name!r}")


def cmd_accept(args) -> int:
    _known_dataset(args.dataset)
    n = _ledger().accept(args.dataset, args.check, by=args.by, reason=args.reason)
    print(f"acceptance {n}: the next version of {args.dataset} may fail {args.check} (accepted by {args.by})")
    return 0


def cmd_withdraw(args) -> int:
    if not _ledger().withdraw(args.id):
        raise SystemExit(f"sudata gate: acceptance {args.id} is unknown, already used or withdrawn")
    print(f"acceptance {args.id} withdrawn")
    return 0


def cmd_list(args) -> int:
    rows = _ledger().history(args.dataset)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        state = (f"used by version {r['used_version']}" if r["used_at"] else
                 "withdrawn" if r["withdrawn_at"] else "pending")
        print(f"{r['id']:>4}  {r['dataset']:<28} {r['check_name']:<24} {state:<20} {r['accepted_by']} "
              f"{r['accepted_at']}: {r['reason']}")
    return 0


def accept_backfill(source_id: str, *, by: str, reason: str) -> list[str]:
    """Accept the row-count rule for the next version of every dataset built from ``source_id``."""
    from orchestration.project import dbt_project, ensure_manifest
    from sudata.datasets import load_datasets
    from sudata.registry import load_registry

    if source_id not in load_registry():
        raise SystemExit(f"sudata run --backfill: no registered source {source_id!r}")
    ensure_manifest()
    ledger = _ledger()
    affected = [name for name, spec in load_datasets(dbt_project.manifest_path).items()
                if source_id in spec.upstream_sources]
    for name in affected:
        ledger.accept(name, "row_count_change", by=by, reason=f"backfill of {source_id}: {reason}", source=source_id)
    return affected
