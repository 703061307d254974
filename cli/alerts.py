"""``sudata alerts``: the alerts raised (late or missing drops, failed runs, blocked datasets, quarantined
files, anomalies, portal access warnings), newest first, with where each was sent (sudata.monitoring)."""

from __future__ import annotations

import json

from sudata.monitoring.alerts import KINDS, AlertStore
from sudata.settings import get_paths


def add_commands(sub) -> None:
    p = sub.add_parser("alerts", help="alerts raised, newest first, and the channels they were sent through")
    p.add_argument("--kind", choices=KINDS)
    p.add_argument("--since", help="ISO date or time (UTC): only alerts raised since")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_alerts)


def cmd_alerts(args) -> int:
    alerts = AlertStore(get_paths().alerts).list(kind=args.kind, since=args.since, limit=args.limit)
    if args.json:
        print(json.dumps(alerts, ensure_ascii=False, indent=2))
        return 0
    if not alerts:
        print("no alerts")
        return 0
    for a in alerts:
        sent = ", ".join(f"{channel} {status}" for channel, status in sorted(a["deliveries"].items())) or "stored only"
        print(f"{a['raised_at']}  {a['severity']:<8}{a['kind']:<18}{a['title']}")
        print(f"    {a['message']}")
        if a["link"]:
            print(f"    run: {a['link']}")
        print(f"    key: {a['key']}  ({sent})")
    return 0
