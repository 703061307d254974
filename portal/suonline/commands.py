"""``sudata units …``: the Su Online units and their keys.

    sudata units list [--level district|street]
    sudata units issue-key --unit CODE [--holder NAME] [--expires ISO]
    sudata units revoke-key ID
    sudata units keys [--all]

A key is printed once at issue; only its SHA-256 is kept. ``--expires`` takes an ISO date or date-time;
a date means the end of that day and a time without offset is Beijing time (UTC+8). It is stored in UTC.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from contextlib import closing

from sudata import units
from portal.access import AccessStore, hash_key
from sudata.settings import get_paths

CST = dt.timezone(dt.timedelta(hours=8))


def parse_expiry(text: str) -> str:
    """An ISO date / date-time as the UTC timestamp stored in the key table."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            t = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), CST)
        else:
            t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if t.tzinfo is None:
                t = t.replace(tzinfo=CST)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r}") from None
    return t.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def _unit_code(text: str) -> str:
    try:
        return units.validate_code(text).code
    except units.UnknownUnit:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Su Online unit (6-digit district or 9-digit street code; see `sudata units list`)"
        ) from None


def _store() -> AccessStore:
    return AccessStore(get_paths().portal_db)


def cmd_list(args) -> int:
    rows = [u for u in units.all_units() if not args.level or u.level == args.level]
    for u in rows:
        indent = "" if u.level == units.DISTRICT else "  "
        print(f"{indent}{u.code}\t{u.level}\t{u.full_name}")
    print(f"{len(rows)} units", file=sys.stderr)
    return 0


def cmd_issue(args) -> int:
    unit = units.get(args.unit)
    holder = args.holder or unit.full_name
    store = _store()
    token = store.issue("unit", unit.code, holder, args.expires)
    with closing(store.connect()) as con:
        key_id = con.execute("select id from keys where key_hash = ?", (hash_key(token),)).fetchone()[0]
    print(token)
    print(f"key {key_id} for {unit.full_name} ({unit.code}), holder {holder}"
          + (f", expires {args.expires}" if args.expires else "")
          + " — shown once, store it now", file=sys.stderr)
    return 0


def cmd_revoke(args) -> int:
    store = _store()
    key = next((k for k in store.list() if k["id"] == args.id), None)
    if key is None or key["scope_type"] != "unit":
        print(f"no Su Online unit key with id {args.id}", file=sys.stderr)
        return 1
    if not store.revoke(args.id):
        print(f"key {args.id} was already revoked at {key['revoked_at']}", file=sys.stderr)
        return 1
    print(f"revoked key {args.id} ({key['prefix']}…, unit {key['scope']}, holder {key['holder']})")
    return 0


def key_status(key: dict, now: str | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    if key["revoked_at"]:
        return "revoked"
    if key["expires_at"] and key["expires_at"] < now:
        return "expired"
    return "active"


def cmd_keys(args) -> int:
    keys = [k for k in _store().list() if k["scope_type"] == "unit"]
    if not args.all:
        keys = [k for k in keys if key_status(k) == "active"]
    print("id\tprefix\tunit\tname\tholder\tcreated\texpires\tstatus")
    for k in keys:
        u = units.find(k["scope"])
        print("\t".join(str(x) for x in (
            k["id"], k["prefix"] + "…", k["scope"], u.full_name if u else "?", k["holder"], k["created_at"],
            k["expires_at"] or "-", key_status(k))))
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("units", help="Su Online units and their keys")
    sub = p.add_subparsers(dest="units_command", required=True)

    ls = sub.add_parser("list", help="list the 10 districts and 118 streets")
    ls.add_argument("--level", choices=units.LEVELS)
    ls.set_defaults(func=cmd_list)

    issue = sub.add_parser("issue-key", help="issue a unit's key (printed once)")
    issue.add_argument("--unit", required=True, type=_unit_code, help="6-digit district or 9-digit street code")
    issue.add_argument("--holder", help="person or office holding the key (default: the unit's name)")
    issue.add_argument("--expires", type=parse_expiry, help="ISO date or date-time (date: end of that day, UTC+8)")
    issue.set_defaults(func=cmd_issue)

    revoke = sub.add_parser("revoke-key", help="revoke a unit key by id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=cmd_revoke)

    keys = sub.add_parser("keys", help="list unit keys (active only unless --all)")
    keys.add_argument("--all", action="store_true", help="include revoked and expired keys")
    keys.set_defaults(func=cmd_keys)
