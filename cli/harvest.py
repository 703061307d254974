"""``sudata harvest``: run harvest jobs now (the schedules of harvest/sources.yml run them in Dagster),
and list the declared sources with their last jobs."""

from __future__ import annotations

import json

from sudata.harvest.job import run_job
from sudata.harvest.sources import load_sources
from sudata.harvest.store import HarvestStore
from sudata.settings import get_paths
from sudata.store import PublishedStore


def add_commands(sub) -> None:
    p = sub.add_parser("harvest", help="harvest the declared catalogs (CKAN, DCAT-AP, DCAT-US) now")
    p.add_argument("sources", nargs="*", help="source ids (default: every declared source)")
    p.add_argument("--list", action="store_true", help="list the sources and their last job instead")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_harvest)


def cmd_harvest(args) -> int:
    sources = load_sources()
    unknown = [s for s in args.sources if s not in sources]
    if unknown:
        raise SystemExit(f"sudata harvest: no declared source {', '.join(unknown)} (harvest/sources.yml)")
    chosen = [sources[s] for s in (args.sources or sources)]
    paths = get_paths()
    if args.list:
        jobs = HarvestStore(PublishedStore(paths.published)).jobs() if paths.published.exists() else []
        last = {j["source"]: j for j in jobs}
        rows = [{"id": s.id, "kind": s.kind, "url": s.url, "schedule": s.schedule, "last_job": last.get(s.id)}
                for s in chosen]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
        for r in [] if args.json else rows:
            j = r["last_job"]
            state = f"{j['status']} {j['finished_at']}: +{j['added']} ~{j['updated']} -{j['withdrawn']}, " \
                    f"{j['invalid']} invalid" if j else "never harvested"
            print(f"{r['id']:<24} {r['kind']:<9} {r['url']}  ({state})")
        return 0
    failed = 0
    reports = []
    for s in chosen:
        report = run_job(s, paths)
        reports.append(report.__dict__)
        failed += not report.ok
        if not args.json:
            c = report.counts
            print(f"{s.id}: {report.status}: {c.get('gathered', 0)} gathered, {c.get('added', 0)} added, "
                  f"{c.get('updated', 0)} updated, {c.get('unchanged', 0)} unchanged, {c.get('withdrawn', 0)} "
                  f"withdrawn, {len(report.errors)} invalid {report.message}".rstrip())
            for e in report.errors[:20]:
                print(f"  not imported: {e['remote_id'] or '(no id)'}: {e['reason']}")
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2))
    return 1 if failed else 0
