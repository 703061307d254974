"""Alerts: one record per thing an engineer must act on, stored once, sent once through each channel.

An alert's ``key`` names the event (``late_drop:<source>:<date>``, ``run_failed:<run id>`` …): raising the
same key again neither stores nor sends it again, so a sensor that re-reads a run, a retried step or the
CLI and the daemon both seeing the same run cost nothing. Kept in ``$SUDATA_HOME/alerts.sqlite``.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sudata.ledger import open_ledger, utcnow

KINDS = ("late_drop", "missing_drop", "run_failed", "blocked_dataset", "quarantined_file", "anomaly",
         "access_spike", "access_denied")
SEVERITIES = ("info", "warning", "error")

SCHEMA = """
create table if not exists alerts (
    key         text primary key,
    kind        text not null,
    severity    text not null,
    title       text not null,
    message     text not null,
    link        text,
    subject     text,            -- the source, dataset or key the alert is about
    run_id      text,
    details     text not null default '{}',
    raised_at   text not null
);
create table if not exists deliveries (
    alert_key   text not null references alerts(key),
    channel     text not null,
    status      text not null,   -- sent | failed
    error       text,
    attempted_at text not null,
    primary key (alert_key, channel)
);
"""


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str
    title: str
    message: str                 # what happened and what to do about it
    severity: str = "error"
    link: str | None = None      # the run in the Dagster UI, where there is one
    subject: str | None = None
    run_id: str | None = None
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r} (known: {', '.join(KINDS)})")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r} (known: {', '.join(SEVERITIES)})")

    def to_dict(self) -> dict:
        return asdict(self)


class AlertStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def connect(self) -> sqlite3.Connection:
        return open_ledger(self.path, SCHEMA, timeout=30)

    def record(self, alert: Alert) -> bool:
        """Store the alert; False when its key was raised before (nothing is changed then)."""
        with closing(self.connect()) as con:
            cur = con.execute(
                "insert or ignore into alerts values (?,?,?,?,?,?,?,?,?,?)",
                (alert.key, alert.kind, alert.severity, alert.title, alert.message, alert.link, alert.subject,
                 alert.run_id, json.dumps(alert.details, ensure_ascii=False, default=str), utcnow()),
            )
            return cur.rowcount == 1

    def delivered(self, key: str, channel: str) -> bool:
        with closing(self.connect()) as con:
            row = con.execute("select status from deliveries where alert_key = ? and channel = ?",
                              (key, channel)).fetchone()
        return bool(row) and row["status"] == "sent"

    def record_delivery(self, key: str, channel: str, error: str | None) -> None:
        with closing(self.connect()) as con:
            con.execute("insert or replace into deliveries values (?,?,?,?,?)",
                        (key, channel, "failed" if error else "sent", error, utcnow()))

    def pending(self) -> list[str]:
        """Keys of alerts with a failed delivery (retried by the next ``dispatch``)."""
        with closing(self.connect()) as con:
            return [r[0] for r in con.execute("select distinct alert_key from deliveries where status = 'failed'")]

    def get(self, key: str) -> dict | None:
        return next(iter(self._select("where a.key = ?", (key,))), None)

    def list(self, kind: str | None = None, since: str | None = None, limit: int = 100) -> list[dict]:
        where, args = [], []
        if kind:
            where.append("a.kind = ?")
            args.append(kind)
        if since:
            where.append("a.raised_at >= ?")
            args.append(since)
        clause = ("where " + " and ".join(where)) if where else ""
        return self._select(f"{clause} order by a.raised_at desc, a.rowid desc limit ?", (*args, limit))

    def _select(self, clause: str, args: tuple) -> list[dict]:
        if not self.path.exists():
            return []
        with closing(self.connect()) as con:
            rows = [dict(r) for r in con.execute(f"select a.* from alerts a {clause}", args)]
            for r in rows:
                r["details"] = json.loads(r["details"])
                r["deliveries"] = {d["channel"]: d["status"] for d in con.execute(
                    "select channel, status from deliveries where alert_key = ?", (r["key"],))}
        return rows
