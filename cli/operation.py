"""``sudata applications``, ``sudata reviewers`` and ``sudata zone``: authorised operation from the
command line (the same store and rules as the portal's pages and APIs)."""

from __future__ import annotations

import getpass
import json
import sys

from operation import applications
from operation.store import OperationError, OperationStore
from operation.zone import Zone, public_query
from sudata.settings import get_paths
from sudata.store import PublishedStore


def _stores() -> tuple[OperationStore, PublishedStore]:
    paths = get_paths()
    return OperationStore(paths.operation_db), PublishedStore(paths.published)


def add_commands(subparsers) -> None:
    apps = subparsers.add_parser("applications", help="applications for use of data (用数申请): review and decide")
    asub = apps.add_subparsers(dest="applications_command", required=True)
    lst = asub.add_parser("list", help="applications, oldest first")
    lst.add_argument("--status", choices=["submitted", "approved", "rejected"])
    lst.add_argument("--department")
    lst.set_defaults(func=cmd_list)
    show = asub.add_parser("show", help="one application with its decision and audit trail (JSON)")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_show)
    approve = asub.add_parser("approve", help="approve with a scope; the applicant collects the credential once")
    approve.add_argument("id", type=int)
    approve.add_argument("--by", required=True, help="the reviewer deciding")
    approve.add_argument("--dataset", action="append", metavar="NAME[:FIELD,FIELD]",
                         help="narrow the scope (repeatable); default: what was applied for")
    approve.add_argument("--from", dest="period_start", help="first day, YYYY-MM-DD")
    approve.add_argument("--to", dest="period_end", help="last day, YYYY-MM-DD")
    approve.add_argument("--quota", type=int, help="per day: zone queries, credit codes, or download requests or rows")
    approve.add_argument("--quota-unit", choices=["requests", "rows"],
                         help="what a download quota counts (default: requests)")
    approve.add_argument("--mode", choices=["download", "zone"])
    approve.add_argument("--conditions", help="conditions of use")
    approve.set_defaults(func=cmd_approve)
    reject = asub.add_parser("reject", help="reject with a reason")
    reject.add_argument("id", type=int)
    reject.add_argument("--by", required=True)
    reject.add_argument("--reason", required=True)
    reject.set_defaults(func=cmd_reject)
    revoke = asub.add_parser("revoke", help="revoke an application's credential")
    revoke.add_argument("id", type=int)
    revoke.add_argument("--by", required=True)
    revoke.set_defaults(func=cmd_revoke)
    sweep = asub.add_parser("sweep", help="delete the field subsets kept for authorisations that ended"
                                          " (the portal also does it hourly)")
    sweep.add_argument("--by", default="system")
    sweep.set_defaults(func=cmd_sweep)
    audit = asub.add_parser("audit", help="the audit trail, newest first")
    audit.add_argument("--limit", type=int, default=50)
    audit.set_defaults(func=cmd_audit)

    rev = subparsers.add_parser("reviewers", help="reviewer accounts of the providing departments")
    rsub = rev.add_subparsers(dest="reviewers_command", required=True)
    add = rsub.add_parser("add", help="create a reviewer (the password is read from the terminal or stdin)")
    add.add_argument("username")
    add.add_argument("--name", required=True)
    add.add_argument("--department", required=True, help="the department id whose applications they review")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=cmd_reviewer_add)

    zone = subparsers.add_parser("zone", help="the operation zone (授权运营专区): queries and releases")
    zsub = zone.add_subparsers(dest="zone_command", required=True)
    submit = zsub.add_parser("submit", help="submit one SELECT with a zone credential (env SUDATA_ZONE_KEY)")
    submit.add_argument("sql")
    submit.add_argument("--key", help="the credential (default: $SUDATA_ZONE_KEY)")
    submit.set_defaults(func=cmd_zone_submit)
    zl = zsub.add_parser("list", help="zone queries")
    zl.add_argument("--pending", action="store_true", help="only checked results awaiting release")
    zl.set_defaults(func=cmd_zone_list)
    rel = zsub.add_parser("release", help="release a checked result after review")
    rel.add_argument("id", type=int)
    rel.add_argument("--by", required=True)
    rel.set_defaults(func=cmd_zone_release)
    add_product_commands(subparsers)


def _print(value) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def cmd_list(args) -> int:
    ops, _ = _stores()
    for a in ops.applications(department=args.department, status=args.status):
        r = a.row
        print(f"{r['id']:>5}  {a.status:<9}  {r['mode']:<8}  {r['department']:<14}  {r['organisation']}"
              f"  [{', '.join(json.loads(r['datasets']))}]  {r['period_start']}..{r['period_end']}")
    return 0


def cmd_show(args) -> int:
    ops, _ = _stores()
    app = ops.application(args.id)
    if app is None:
        print(f"no application {args.id}", file=sys.stderr)
        return 1
    _print({**app.to_dict(), "audit": app.audit})
    return 0


def _datasets(specs: list[str] | None) -> dict | None:
    if not specs:
        return None
    out = {}
    for spec in specs:
        name, _, fields = spec.partition(":")
        out[name] = [f for f in fields.split(",") if f]
    return out


def cmd_approve(args) -> int:
    ops, published = _stores()
    app = ops.application(args.id)
    if app is None:
        print(f"no application {args.id}", file=sys.stderr)
        return 1
    try:
        scope = applications.approval_scope(published, app.to_dict(), datasets=_datasets(args.dataset),
                                            period_start=args.period_start, period_end=args.period_end,
                                            quota_per_day=args.quota, mode=args.mode, quota_unit=args.quota_unit)
        ops.approve(args.id, args.by, scope, args.conditions)
    except OperationError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(f"approved application {args.id}: {json.dumps(scope, ensure_ascii=False)}")
    print("The applicant collects the credential once, with the application's secret, on /apply/status"
          " or POST /api/operation/applications/<id>/credential.", file=sys.stderr)
    return 0


def cmd_reject(args) -> int:
    ops, _ = _stores()
    try:
        ops.reject(args.id, args.by, args.reason)
    except OperationError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(f"rejected application {args.id}")
    return 0


def cmd_revoke(args) -> int:
    ops, _ = _stores()
    if ops.revoke_credential(args.id, args.by):
        print(f"revoked the credential of application {args.id}")
        return 0
    print(f"application {args.id} has no active credential", file=sys.stderr)
    return 1


def cmd_sweep(args) -> int:
    ops, _ = _stores()
    removed = ops.remove_ended_projections(args.by)
    for app_id, files in removed.items():
        print(f"application {app_id}: {files} field subset file(s) removed")
    if not removed:
        print("no field subsets of ended authorisations")
    return 0


def cmd_audit(args) -> int:
    ops, _ = _stores()
    for e in ops.audit_log(limit=args.limit):
        print(f"{e['id']:>6}  {e['at']}  {e['action']:<22}  app={e['application_id'] or '-'}  {e['actor']}"
              f"  {json.dumps(e['detail'], ensure_ascii=False)}")
    return 0


def cmd_reviewer_add(args) -> int:
    ops, _ = _stores()
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    try:
        rid = ops.add_reviewer(args.username, args.name, args.department, password)
    except OperationError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(f"reviewer {rid}: {args.username} ({args.name}, {args.department})")
    return 0


def cmd_zone_submit(args) -> int:
    import os

    ops, published = _stores()
    auth = ops.resolve(args.key or os.environ.get("SUDATA_ZONE_KEY"))
    if auth is None or not auth.valid:
        print("access denied: " + (auth.problem if auth else "unknown or revoked credential"), file=sys.stderr)
        return 3
    try:
        q = Zone(ops, published).submit(auth, args.sql)
    except OperationError as e:
        print(str(e), file=sys.stderr)
        return 2
    _print(public_query(q, with_result=False))
    return 0 if q["status"] in ("safe", "review") else 1


def cmd_zone_list(args) -> int:
    ops, _ = _stores()
    for q in ops.queries(pending=args.pending):
        print(f"{q['id']:>5}  app={q['application_id']:<4}  {q['status']:<8}  "
              f"{'released' if q['released_at'] else '':<8}  {q['sql'][:80]}")
    return 0


def cmd_zone_release(args) -> int:
    ops, published = _stores()
    try:
        q = Zone(ops, published).release(args.id, args.by)
    except OperationError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(f"released query {args.id}: {q['released_rows']} rows, sha256 {q['sha256']}")
    return 0


def add_product_commands(subparsers) -> None:
    prod = subparsers.add_parser("products", help="the registry of data products (数据产品登记)")
    psub = prod.add_subparsers(dest="products_command", required=True)
    lst = psub.add_parser("list", help="registered products with their status and lineage")
    lst.add_argument("--status", choices=["registered", "listed", "withdrawn"])
    lst.set_defaults(func=cmd_products_list)
    for verb, status, helptext in (("list-in-catalog", "listed", "list a registered product in the catalog"),
                                   ("withdraw", "withdrawn", "withdraw a product")):
        p = psub.add_parser(verb, help=helptext)
        p.add_argument("code")
        p.add_argument("--by", required=True)
        p.add_argument("--note")
        p.set_defaults(func=cmd_products_status, status=status)
    disc = psub.add_parser("disclosure", help="the annual disclosure: authorisations, products, fees")
    disc.add_argument("--year", type=int, required=True)
    disc.add_argument("--csv", action="store_true", help="CSV instead of JSON")
    disc.set_defaults(func=cmd_products_disclosure)


def _products():
    from operation.products import Products

    ops, published = _stores()
    return Products(ops, published)


def cmd_products_list(args) -> int:
    for p in _products().products(status=args.status):
        print(f"{p['code']}  {p['status']:<10}  {p['kind']:<11}  {p['organisation']}  {p['name']}"
              f"  {json.dumps(p['lineage']['versions'], ensure_ascii=False)}")
    return 0


def cmd_products_status(args) -> int:
    try:
        p = _products().set_status(args.code, args.status, args.by, args.note)
    except OperationError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(f"{p['code']}: {p['status']}")
    return 0


def cmd_products_disclosure(args) -> int:
    products = _products()
    if args.csv:
        sys.stdout.write(products.disclosure_csv(args.year).lstrip("\ufeff"))
    else:
        _print(products.disclosure(args.year))
    return 0
