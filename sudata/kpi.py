"""The city's targets in figures, from what the published store knows: catalog entries (own, harvested,
directory) against 10,000; high-quality datasets against 300; data products against 500; update
timeliness per department; the openness plan's progress.

*High-quality dataset* (高质量数据集): an own open dataset whose current version passed its gate with a
score of at least 0.90, and every gate run of the last 30 days passed (at least one run). *Timely*: the
last passing gate run is no older than the dataset's update frequency allows (plus a day);
``不定期`` datasets are not measured.

The nightly job records the figures once a day (``kpi_snapshots``); the portal shows the last record and
the history of the catalog's size.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone

from sudata.directory import SCHEMA as DIRECTORY_SCHEMA
from sudata.directory import plan_progress
from sudata.ledger import utcnow
from sudata.store import PublishedStore

TARGETS = {"catalog_entries": 10_000, "high_quality_datasets": 300, "data_products": 500}
HIGH_QUALITY_SCORE = 0.90
HIGH_QUALITY_WINDOW_DAYS = 30
PERIOD_DAYS = {"实时": 1, "每日": 1, "每周": 7, "每月": 31, "每季度": 92, "每年": 366}
VISIBLE = ("unconditional", "conditional")

SCHEMA = """
create table if not exists kpi_snapshots (
    day          text primary key,           -- Asia/Shanghai date of the nightly run
    computed_at  text not null,
    figures      text not null               -- json, see compute()
);
"""


def _table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("select 1 from sqlite_master where type = 'table' and name = ?", (name,)).fetchone() is not None


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        dt = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def compute(store: PublishedStore, now: datetime | None = None) -> dict:
    """Every figure of the KPI page, read in one read transaction of the index."""
    now = now or datetime.now(timezone.utc)
    empty = {"entries": {"own": 0, "harvested": 0, "directory": 0, "total": 0}}
    if not store.exists():
        return _figures(empty["entries"], [], {}, [], 0, [], set(), now)
    with closing(store.connect(readonly=True)) as con:
        con.execute("begin")
        own = [dict(r) for r in con.execute(
            "select d.name, d.department, d.department_name, d.update_frequency, d.open_type,"
            " json_extract(v.quality, '$.passed') as passed, json_extract(v.quality, '$.score') as score"
            " from datasets d join versions v on v.dataset = d.name and v.version = d.current_version"
            " where d.open_type in ('unconditional', 'conditional')")]
        since = (now - timedelta(days=HIGH_QUALITY_WINDOW_DAYS)).isoformat()
        runs: dict[str, list[dict]] = {}
        for r in con.execute("select dataset, checked_at, passed from quality_runs order by id"):
            runs.setdefault(r["dataset"], []).append(dict(r))
        harvested = con.execute(
            "select count(*) from harvested where state = 'active' and open_type in ('unconditional', 'conditional')"
        ).fetchone()[0] if _table(con, "harvested") else 0
        harvested_names = {r[0] for r in con.execute("select name from harvested where state = 'active'")} \
            if _table(con, "harvested") else set()
        directory = [dict(r) for r in con.execute("select * from directory_entries")] \
            if _table(con, "directory_entries") else []
        products = con.execute("select count(*) from data_products").fetchone()[0] \
            if _table(con, "data_products") else 0
        history = [dict(r) for r in con.execute("select day, figures from kpi_snapshots order by day")] \
            if _table(con, "kpi_snapshots") else []
        con.execute("commit")
    listed = {d["name"] for d in own} | harvested_names
    listed_directory = [e for e in directory if e["open_type"] in VISIBLE and not (e["dataset"] and e["dataset"] in listed)]
    entries = {"own": len(own), "harvested": harvested, "directory": len(listed_directory)}
    entries["total"] = sum(entries.values())
    for d in own:
        d["runs"] = runs.get(d["name"], [])
    return _figures(entries, own, {"since": since}, directory, products, history, listed, now)


def _figures(entries: dict, own: list[dict], window: dict, directory: list[dict], products: int,
             history: list[dict], listed: set[str], now: datetime) -> dict:
    since = window.get("since", "")
    high = []
    for d in own:
        recent = [r for r in d.get("runs", []) if r["checked_at"] >= since]
        if d["passed"] and (d["score"] or 0) >= HIGH_QUALITY_SCORE and recent and all(r["passed"] for r in recent):
            high.append(d["name"])
    departments: dict[str, dict] = {}
    for d in own:
        dep = departments.setdefault(d["department"], {"department": d["department"],
                                                      "department_name": d["department_name"] or d["department"],
                                                      "measured": 0, "timely": 0, "late": []})
        period = PERIOD_DAYS.get(d["update_frequency"] or "")
        if period is None:
            continue
        dep["measured"] += 1
        last = max((_parse(r["checked_at"]) for r in d.get("runs", []) if r["passed"]), default=None)
        if last is not None and now - last <= timedelta(days=period + 1):
            dep["timely"] += 1
        else:
            dep["late"].append(d["name"])
    timeliness = sorted(departments.values(), key=lambda x: x["department"])
    for t in timeliness:
        t["share"] = round(t["timely"] / t["measured"], 4) if t["measured"] else None
    year = now.astimezone(timezone(timedelta(hours=8))).year
    return {
        "computed_at": now.isoformat(timespec="seconds"),
        "targets": TARGETS,
        "catalog_entries": {**entries, "target": TARGETS["catalog_entries"]},
        "high_quality_datasets": {"count": len(high), "target": TARGETS["high_quality_datasets"],
                                  "datasets": sorted(high),
                                  "definition": f"current version passed with score ≥ {HIGH_QUALITY_SCORE:.2f}"
                                                f" and every gate run of the last {HIGH_QUALITY_WINDOW_DAYS} days passed"},
        "data_products": {"count": products, "target": TARGETS["data_products"]},
        "timeliness": timeliness,
        "openness_plan": plan_progress(directory, listed, year, now.date()),
        "history": [{"day": h["day"], "catalog_entries": json.loads(h["figures"])["catalog_entries"]["total"]}
                    for h in history],
    }


def record(store: PublishedStore, day: str, now: datetime | None = None) -> dict:
    """Compute the figures and keep them as the record of ``day`` (the nightly job's)."""
    figures = compute(store, now)
    with closing(store.connect()) as con:
        con.executescript(SCHEMA + DIRECTORY_SCHEMA)
        con.execute("insert into kpi_snapshots (day, computed_at, figures) values (?, ?, ?)"
                    " on conflict (day) do update set computed_at = excluded.computed_at, figures = excluded.figures",
                    (day, utcnow(), json.dumps({k: v for k, v in figures.items() if k != "history"}, ensure_ascii=False)))
    return compute(store, now)


def latest(store: PublishedStore) -> dict | None:
    """The last nightly record with the history, or None before the first."""
    if not store.exists():
        return None
    with closing(store.connect(readonly=True)) as con:
        if not _table(con, "kpi_snapshots"):
            return None
        rows = con.execute("select day, computed_at, figures from kpi_snapshots order by day").fetchall()
    if not rows:
        return None
    figures = json.loads(rows[-1]["figures"])
    figures["recorded_day"] = rows[-1]["day"]
    figures["history"] = [{"day": r["day"], "catalog_entries": json.loads(r["figures"])["catalog_entries"]["total"]}
                          for r in rows]
    return figures


def today_in_city() -> str:
    return datetime.now(timezone(timedelta(hours=8))).date().isoformat()


