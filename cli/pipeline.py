"""Pipeline commands: ``sudata run``, ``sudata status``, ``sudata ingest``. They drive the Dagster code
location (``orchestration``), which is why they live above the core."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import warnings
from pathlib import Path

from sudata.settings import get_paths

EXIT_OK, EXIT_FAILED, EXIT_BLOCKED = 0, 1, 3


def add_commands(sub) -> None:
    p = sub.add_parser("run", help="materialise the nightly job in-process (all pending drop dates, or --date)")
    p.add_argument("--date", help="drop date YYYY-MM-DD (default: every drop date not yet ingested, in one run)")
    p.add_argument("--full-refresh", action="store_true",
                   help="rebuild the incremental models from every landed drop (after a model or seed change)")
    p.add_argument("--backfill", metavar="SOURCE",
                   help="a department delivers the history of SOURCE: the row-count rule of the datasets built "
                        "from it is accepted for this night's version (needs --by and --reason; audited)")
    p.add_argument("--by", help="who asks for the backfill")
    p.add_argument("--reason", help="why (shown with the version in the catalog and in Dagster)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="the full Dagster log on the console (otherwise one line per stage; the UI has the log)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="sources, quarantine and published datasets")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("ingest", help="land drops into the raw layer without running the rest of the night")
    p.add_argument("--source", action="append", help="source id (repeatable; default: all)")
    p.add_argument("--date", action="append", help="drop date (repeatable; default: every drop date found)")
    p.set_defaults(func=cmd_ingest)


def prepare_dagster_home() -> Path:
    """Runs launched from the CLI land in the same instance the Dagster UI shows."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(get_paths().dagster_home)))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


def dates_to_run(explicit: str | None) -> list[str]:
    from sudata.ingest import drop_dates, pending_drop_dates
    from sudata.registry import load_registry

    if explicit:
        return [explicit]
    paths, registry = get_paths(), load_registry()
    pending = pending_drop_dates(paths, registry)
    if pending:
        return pending
    every = sorted({d for s in registry.values() for d in drop_dates(paths, s)})
    return every[-1:]  # nothing new: re-run the latest night (idempotent)


def cmd_run(args) -> int:
    prepare_dagster_home()
    if getattr(args, "backfill", None):
        from cli.gate import accept_backfill

        if not args.by or not args.reason:
            raise SystemExit("sudata run --backfill needs --by (who) and --reason (why)")
        affected = accept_backfill(args.backfill, by=args.by, reason=args.reason)
        print(f"backfill of {args.backfill}: the row-count rule is accepted for {', '.join(affected) or 'no dataset'}")
    from dagster import BetaWarning, DagsterInstance

    verbose = getattr(args, "verbose", False)
    if not verbose:  # about the project's own definitions, not about tonight's run
        warnings.filterwarnings("ignore", category=BetaWarning)
    from orchestration import progress
    from orchestration.partitions import drop_date_run
    from orchestration.project import ensure_manifest

    ensure_manifest()
    from orchestration.launch import launch_in_process

    dates = dates_to_run(args.date)
    if not dates:
        print(f"no drops in {get_paths().raw}: nothing to run", file=sys.stderr)
        return EXIT_FAILED
    started = time.perf_counter()
    if len(dates) == 1:
        print(f"nightly run for drop date {dates[0]} …", flush=True)
    else:  # catching up: one run
        print(f"nightly run for drop dates {dates[0]} … {dates[-1]} ({len(dates)} dates) …", flush=True)
    log = None if verbose else get_paths().home / "logs" / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    with DagsterInstance.get() as instance, tool_output(log):
        # launched as the code location's run: the UI shows it on the job's page, timeline and partitions
        result = launch_in_process("nightly", instance, run_config=run_config(args),
                                   **drop_date_run(dates[0], dates[-1]))
        progress.finish()
        from orchestration.alerting import alert_run

        alerts = alert_run(instance, result.run_id)  # the run-status sensors do this when a daemon runs
    outcome = summarise_run(result)
    print(f"  run {result.run_id} finished in {time.perf_counter() - started:.1f}s: "
          f"{len(outcome['published'])} published, {len(outcome['blocked'])} blocked, "
          f"{len(outcome['errors'])} failed steps")
    for name in outcome["blocked"]:
        print(f"  blocked by its quality gate: {name} (its last good version stays current)")
    for step in outcome["errors"]:
        print(f"  failed step: {step}")
    if alerts:
        print(f"  {len(alerts)} new alert(s): sudata alerts")
    code = EXIT_FAILED if outcome["errors"] else EXIT_BLOCKED if outcome["blocked"] else EXIT_OK
    from orchestration.sensors import build_data_docs_site, record_kpi

    paths = get_paths()
    docs = build_data_docs_site()
    record_kpi()  # the day's figures of the KPI page, as the run-status sensors record them
    print_published(paths, outcome["published"])
    print(f"published store: {paths.published}")
    print(f"quality Data Docs: {docs}")
    if log:
        print(f"dbt's output: {log} (the full run log: sudata run -v, or the Dagster UI)")
    return code


@contextlib.contextmanager
def tool_output(log: Path | None):
    """Send what the tools of a run print themselves (dbt's log lines) to ``log``; the progress lines keep
    the terminal. Without a log, everything stays on the terminal."""
    from orchestration import progress

    if log is None:
        yield
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    progress.OUTPUT["stream"] = sys.stdout
    try:
        with open(log, "w", encoding="utf-8") as f, contextlib.redirect_stdout(f):
            yield
    finally:
        progress.OUTPUT.clear()


def print_published(paths, names: list[str]) -> None:
    """What tonight published: one line per dataset, its new version, rows and open type."""
    from sudata.store import PublishedStore

    store = PublishedStore(paths.published)
    for name in sorted(set(names)):
        v = store.current_version(name)
        if v:
            entry = next((d for d in store.datasets() if d["name"] == name), {})
            print(f"  {name:<32} v{v['version']:<4}{v['row_count']:>9} rows  {entry.get('open_type', '')}")


def run_config(args) -> dict:
    from orchestration.progress import quiet_run_config

    config = quiet_run_config(getattr(args, "verbose", False))
    if getattr(args, "full_refresh", False):
        from orchestration.assets.transform import DBT_STEP

        config["ops"] = {DBT_STEP: {"config": {"full_refresh": True}}}
    return config


def summarise_run(result) -> dict:
    published, blocked, errors = [], [], []
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            key = event.asset_key.path
            if key[0] == "published":
                published.append(key[-1])
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if data.check_name == "quality_gate" and not data.passed:
                blocked.append(data.asset_key.path[-1])
        elif event.event_type_value == "STEP_FAILURE":
            msg = event.event_specific_data.error.message.strip().splitlines()[0] if event.event_specific_data.error else ""
            if "DagsterAssetCheckFailedError" not in msg and "Blocking check" not in msg:
                errors.append(f"{event.step_key}: {msg}")
    return {"published": published, "blocked": sorted(set(blocked)), "errors": errors}


def status_snapshot() -> dict:
    from sudata.ingest import lake_problems, state
    from sudata.registry import load_registry
    from sudata.store import PublishedStore

    paths = get_paths()
    registry = load_registry()
    latest = {p["source"]: p for p in state.partition_summary(paths.state_db)}
    sources = []
    for s in registry.values():
        p = latest.get(s.id, {})
        sources.append({
            "source": s.id, "title": s.title, "department": s.department.id, "department_name": s.department.name,
            "format": s.format, "last_drop_date": p.get("drop_date"), "last_status": p.get("status"),
            "last_rows": p.get("rows"), "total_rows": p.get("total_rows") or 0,
            "quarantined_files": p.get("total_quarantined_files") or 0,
            "quarantined_rows": p.get("total_quarantined_rows") or 0,
        })
    rejected = governance_rejections(paths)
    lake = [p.to_dict() for p in lake_problems(paths, registry)]
    for src in sources:
        src["rejected_rows"] = rejected.get(src["source"], 0)
        src["lake_problems"] = sum(1 for p in lake if p["source"] == src["source"])
    store = PublishedStore(paths.published)
    datasets = []
    for d in store.overview():
        cur, last = d["current"], d["last_quality_run"]
        datasets.append({
            "dataset": d["name"], "title": d["title"], "department": d["department"], "open_type": d["open_type"],
            "current_version": d["current_version"],
            "rows": cur["row_count"] if cur else None,
            "published_at": cur["published_at"] if cur else None,
            "quality_score": cur["quality"].get("score") if cur else None,
            "quality_report": cur["quality"] if cur else None,
            "last_check": {
                "checked_at": last["checked_at"], "passed": bool(last["passed"]), "drop_date": last["drop_date"],
                "blocking_failures": last["report"].get("blocking_failures", []),
            } if last else None,
            "versions": d["version_numbers"],
        })
    quarantine = state.quarantine_records(paths.state_db, limit=50)
    return {
        "home": str(paths.home), "raw": str(paths.raw),
        "departments": sorted({s.department.id for s in registry.values()}),
        "sources": sources, "datasets": datasets,
        # partitions the ingestion ledger claims that the lake does not hold (the next run lands them again)
        "lake_problems": lake,
        # which night each current version stands for; mixed when a run died between two publications
        "nights": store.nights(),
        "quarantine": [{k: q[k] for k in ("source", "drop_date", "file", "kind", "rows", "reason", "kept_at")} for q in quarantine],
    }


def governance_rejections(paths) -> dict[str, int]:
    """Rows set aside by dbt's governance (invalid identifiers, unplaceable codes, missing values) per source."""
    import duckdb

    from orchestration.project import dbt_project
    from sudata.datasets import model_relation
    from sudata.warehouse import dbt_target, warehouse_connect

    if not dbt_project.manifest_path.exists() or (dbt_target() != "spark" and not paths.warehouse.exists()):
        return {}
    relation = model_relation(dbt_project.manifest_path, "int_quarantined_rows")
    if not relation:
        return {}
    try:
        con = warehouse_connect(paths)
    except duckdb.Error:
        return {}  # a run holds the warehouse right now
    try:
        return dict(con.execute(f"select source, count(*) from {relation} group by source").fetchall())
    except duckdb.Error:
        return {}
    finally:
        con.close()


def cmd_status(args) -> int:
    snap = status_snapshot()
    if args.json:
        print(json.dumps(snap, ensure_ascii=False, indent=2))
        return 0
    print(f"SUDATA_HOME={snap['home']}  SUDATA_RAW={snap['raw']}")
    print(f"\n{len(snap['sources'])} sources from {len(snap['departments'])} departments")
    print(f"  {'source':<28}{'last drop':<12}{'status':<12}{'rows':>9}{'total':>10}{'q.files':>8}{'q.rows':>8}"
          f"{'rejected':>9}")
    for s in snap["sources"]:
        print(f"  {s['source']:<28}{s['last_drop_date'] or '-':<12}{s['last_status'] or '-':<12}"
              f"{s['last_rows'] or 0:>9}{s['total_rows']:>10}{s['quarantined_files']:>8}{s['quarantined_rows']:>8}"
              f"{s['rejected_rows']:>9}")
    print("  (q.files / q.rows: unreadable at ingestion; rejected: set aside by governance in dbt)")
    if snap["lake_problems"]:
        print(f"\nLAKE DOES NOT HOLD WHAT THE LEDGER CLAIMS ({len(snap['lake_problems'])} partitions; "
              f"the next `sudata run` lands them again from the raw files)")
        for p in snap["lake_problems"]:
            print(f"  {p['drop_date']} {p['source']}: {p['problem']}")
    print(f"\n{len(snap['datasets'])} datasets")
    for line in nights_lines(snap["nights"]):
        print(f"  {line}")
    print(f"  {'dataset':<32}{'open type':<15}{'ver':>4}{'rows':>9}  {'checks':<8}{'score':>6}  published at")
    for d in snap["datasets"]:
        check = "-" if not d["last_check"] else ("passed" if d["last_check"]["passed"] else "FAILED")
        score = f"{d['quality_score']:.2f}" if d["quality_score"] is not None else "-"
        print(f"  {d['dataset']:<32}{d['open_type']:<15}{d['current_version'] or '-':>4}{d['rows'] or 0:>9}  "
              f"{check:<8}{score:>6}  {d['published_at'] or '-'}")
        if d["last_check"] and not d["last_check"]["passed"]:
            print(f"      blocked: {', '.join(d['last_check']['blocking_failures'])}")
    if snap["quarantine"]:
        print("\nquarantine (latest first)")
        for q in snap["quarantine"][:20]:
            print(f"  {q['drop_date']} {q['source']} {q['file']} [{q['kind']}, {q['rows']} rows]: {q['reason']}")
    return 0


def nights_lines(nights: dict) -> list[str]:
    """What ``sudata status`` says when the current versions do not all stand for the latest night."""
    if not nights["behind"]:
        return []
    latest = nights["latest_night"]
    lines = [f"CURRENT VERSIONS COME FROM DIFFERENT NIGHTS: {len(nights['behind'])} datasets are behind {latest} "
             f"(" + ", ".join(f"{n}: {c}" for n, c in nights["nights"].items()) + " datasets)"]
    unpublished = [b for b in nights["behind"] if b["reason"] == "unpublished"]
    if unpublished:
        lines.append(f"not yet published for {latest}: its run has not finished (still running, or it died; "
                     f"the next `sudata run` publishes them):")
        lines += [f"  {b['dataset']} (as of {b['as_of'] or 'never published'})" for b in unpublished]
    blocked = [b for b in nights["behind"] if b["reason"] == "blocked"]
    if blocked:
        lines.append(f"blocked by their quality gate on {latest} (last good version stays current):")
        lines += [f"  {b['dataset']} (as of {b['as_of'] or 'never published'})" for b in blocked]
    return lines


def cmd_ingest(args) -> int:
    from sudata.ingest import drop_dates, ingest_partition
    from sudata.registry import load_registry

    paths, registry = get_paths(), load_registry()
    ids = args.source or list(registry)
    for sid in ids:
        source = registry[sid]
        for d in args.date or drop_dates(paths, source):
            r = ingest_partition(paths, source, d)
            print(f"{sid:<28}{d}  {r.status:<12}{r.rows:>8} rows  {r.quarantined_files} files / {r.quarantined_rows} rows quarantined")
    return 0
