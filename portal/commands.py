"""``sudata serve`` and ``sudata keys`` (issue, revoke, list, log)."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from portal.access import AccessStore, hash_key
from sudata.settings import TIMEZONE, get_paths
from sudata.store import PublishedStore


def add_commands(subparsers) -> None:
    serve = subparsers.add_parser("serve", help="serve the open catalog portal (CKAN API, downloads, web catalog)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (each keeps its own catalog index)")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)

    keys = subparsers.add_parser("keys", help="access keys for conditional datasets (有条件开放)")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    issue = ksub.add_parser("issue", help="issue a key scoped to one dataset (shown once)")
    issue.add_argument("--dataset", required=True, help="dataset name")
    issue.add_argument("--holder", required=True, help="the organisation the key is issued to")
    issue.add_argument("--expires", help="expiry, ISO 8601 (a date means the end of that day, Beijing time)")
    issue.set_defaults(func=cmd_keys_issue)
    revoke = ksub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=cmd_keys_revoke)
    lst = ksub.add_parser("list", help="list keys (hashes only; a key is shown once, when issued)")
    lst.set_defaults(func=cmd_keys_list)
    log = ksub.add_parser("log", help="the access log of conditional data, newest first")
    log.add_argument("--limit", type=int, default=50)
    log.set_defaults(func=cmd_keys_log)


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


def cmd_keys_issue(args: argparse.Namespace) -> int:
    paths = get_paths()
    store = PublishedStore(paths.published)
    entry = store.dataset(args.dataset)
    if entry is None:
        print(f"no dataset named {args.dataset!r} in the published store ({paths.published})", file=sys.stderr)
        return 2
    if entry["open_type"] == "closed":
        print(f"{args.dataset} is closed (不予开放): it never leaves the platform, no key can open it", file=sys.stderr)
        return 2
    if entry["open_type"] == "unconditional":
        print(f"note: {args.dataset} is unconditional (无条件开放): it needs no key", file=sys.stderr)
    expires = parse_expiry(args.expires) if args.expires else None
    access = AccessStore(paths.portal_db)
    token = access.issue("dataset", args.dataset, args.holder, expires)
    with closing(access.connect()) as con:
        key_id = con.execute("select id from keys where key_hash = ?", (hash_key(token),)).fetchone()[0]
    print(f"key id:  {key_id}")
    print(f"dataset: {args.dataset}")
    print(f"holder:  {args.holder}")
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


def cmd_keys_list(args: argparse.Namespace) -> int:
    keys = AccessStore(get_paths().portal_db).list()
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for k in keys:
        k["status"] = ("revoked" if k["revoked_at"] else
                       "expired" if k["expires_at"] and k["expires_at"] < now else "active")
    print(_table(keys, ["id", "prefix", "scope_type", "scope", "holder", "created_at", "expires_at", "status"]))
    return 0


def cmd_keys_log(args: argparse.Namespace) -> int:
    rows = AccessStore(get_paths().portal_db).access_log(limit=args.limit)
    print(_table(rows, ["id", "at", "key_id", "holder", "action", "target", "rows", "status"]))
    return 0
