"""``sudata serve`` and ``sudata keys`` (issue, revoke, list, log): the one place keys are handled, for
conditional datasets (``--dataset``) and Su Online units (``--unit``) alike."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from portal.access import AccessStore, hash_key
from sudata import units
from sudata.settings import TIMEZONE, get_paths
from sudata.store import PublishedStore


def add_commands(subparsers) -> None:
    serve = subparsers.add_parser("serve", help="serve the open catalog portal (CKAN API, downloads, web catalog)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (each keeps its own catalog index)")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)

    keys = subparsers.add_parser("keys", help="access keys: conditional datasets (有条件开放) and Su Online units")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    issue = ksub.add_parser("issue", help="issue a key scoped to one dataset or one Su Online unit (shown once)")
    scope = issue.add_mutually_exclusive_group(required=True)
    scope.add_argument("--dataset", help="a conditional dataset's name")
    scope.add_argument("--unit", type=_unit_code, help="a Su Online unit: 6-digit district or 9-digit street code")
    issue.add_argument("--holder", help="the organisation the key is issued to (required for a dataset key;"
                                        " a unit key defaults to the unit's name)")
    issue.add_argument("--expires", help="expiry, ISO 8601 (a date means the end of that day, Beijing time)")
    issue.set_defaults(func=cmd_keys_issue)
    revoke = ksub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=cmd_keys_revoke)
    lst = ksub.add_parser("list", help="list keys (hashes only; a key is shown once, when issued)")
    kind = lst.add_mutually_exclusive_group()
    kind.add_argument("--datasets", action="store_const", const="dataset", dest="scope_type",
                      help="dataset keys only")
    kind.add_argument("--units", action="store_const", const="unit", dest="scope_type", help="unit keys only")
    lst.add_argument("--active", action="store_true", help="leave out revoked and expired keys")
    lst.set_defaults(func=cmd_keys_list)
    log = ksub.add_parser("log", help="the access log (conditional data and Su Online), newest first")
    log.add_argument("--limit", type=int, default=50)
    log.set_defaults(func=cmd_keys_log)


def _unit_code(text: str) -> str:
    try:
        return units.validate_code(text).code
    except units.UnknownUnit:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Su Online unit (6-digit district or 9-digit street code; see `sudata units list`)"
        ) from None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "portal.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
        log_level=args.log_level, access_log=False, proxy_headers=False,
        # keep idle keep-alive connections longer than clients pause between requests (the default 5 s
        # races busy clients that reuse a connection just as the server closes it)
        timeout_keep_alive=75,
    )
    return 0


def parse_expiry(text: str, now: datetime | None = None) -> str:
    """An expiry as the UTC ISO form the key store compares against."""
    text = text.strip()
    tz = ZoneInfo(TIMEZONE)
    try:
        if len(text) == 10:  # a date: valid through that day
            day = datetime.fromisoformat(text).replace(tzinfo=tz)
            dt = day + timedelta(days=1)
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=tz)
    except ValueError:
        raise SystemExit(f"--expires: not an ISO 8601 date or time: {text!r}") from None
    dt = dt.astimezone(timezone.utc)
    if dt <= (now or datetime.now(timezone.utc)):
        raise SystemExit(f"--expires: {text} is in the past")
    return dt.isoformat(timespec="seconds")


def _dataset_scope(args: argparse.Namespace) -> str | None:
    """The dataset a key may open, or None (with the reason on stderr) when no key may open it.

    The rule for closed data (不予开放): it never leaves the platform, so no dataset key opens it and the
    open catalog does not list it. Su Online is inside the platform: a closed dataset whose model
    declares ``su_online`` (its owner's statement that delivering it to the units is lawful) reaches each
    unit's key as that unit's own slice, and nothing more.
    """
    paths = get_paths()
    entry = PublishedStore(paths.published).dataset(args.dataset)
    if entry is None:
        print(f"no dataset named {args.dataset!r} in the published store ({paths.published})", file=sys.stderr)
        return None
    if entry["open_type"] == "closed":
        print(f"{args.dataset} is closed (不予开放): it never leaves the platform, no dataset key can open it"
              " (Su Online units receive their slice where the model declares su_online)", file=sys.stderr)
        return None
    if entry["open_type"] == "unconditional":
        print(f"note: {args.dataset} is unconditional (无条件开放): it needs no key", file=sys.stderr)
    return args.dataset


def cmd_keys_issue(args: argparse.Namespace) -> int:
    if args.dataset:
        if not args.holder:
            print("--holder is required for a dataset key", file=sys.stderr)
            return 2
        scope_type, scope = "dataset", _dataset_scope(args)
        if scope is None:
            return 2
        holder = args.holder
    else:
        unit = units.get(args.unit)
        scope_type, scope, holder = "unit", unit.code, args.holder or unit.full_name
    expires = parse_expiry(args.expires) if args.expires else None
    access = AccessStore(get_paths().portal_db)
    token = access.issue(scope_type, scope, holder, expires)
    with closing(access.connect()) as con:
        key_id = con.execute("select id from keys where key_hash = ?", (hash_key(token),)).fetchone()[0]
    print(f"key id:  {key_id}")
    print(f"{scope_type + ':':<8} {scope}" + (f" ({units.get(scope).full_name})" if scope_type == "unit" else ""))
    print(f"holder:  {holder}")
    print(f"expires: {expires or 'never'}")
    print(f"key:     {token}")
    print("The key is shown only this once; it is stored hashed. Send it as the Authorization header.", file=sys.stderr)
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    access = AccessStore(get_paths().portal_db)
    if access.revoke(args.id):
        print(f"revoked key {args.id}")
        return 0
    print(f"no active key with id {args.id}", file=sys.stderr)
    return 1


def _table(rows: list[dict], columns: list[str]) -> str:
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def key_status(key: dict, now: str | None = None) -> str:
    now = now or datetime.now(timezone.utc).isoformat(timespec="seconds")
    if key["revoked_at"]:
        return "revoked"
    if key["expires_at"] and key["expires_at"] < now:
        return "expired"
    return "active"


def cmd_keys_list(args: argparse.Namespace) -> int:
    keys = AccessStore(get_paths().portal_db).list()
    for k in keys:
        k["status"] = key_status(k)
        unit = units.find(k["scope"]) if k["scope_type"] == "unit" else None
        k["name"] = unit.full_name if unit else ""
    keys = [k for k in keys if (not args.scope_type or k["scope_type"] == args.scope_type)
            and (not args.active or k["status"] == "active")]
    print(_table(keys, ["id", "prefix", "scope_type", "scope", "name", "holder", "created_at", "expires_at", "status"]))
    return 0


def cmd_keys_log(args: argparse.Namespace) -> int:
    rows = AccessStore(get_paths().portal_db).access_log(limit=args.limit)
    print(_table(rows, ["id", "at", "key_id", "holder", "action", "target", "rows", "status"]))
    return 0
