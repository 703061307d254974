"""The operation zone (授权运营专区): an operator's query is checked, run in the locked-down engine over
the authorised current versions, output-checked, and kept until a reviewer releases it.

A released output is written once (CSV with BOM and JSON, read-only files) with its SHA-256 recorded in
the append-only releases table; serving it re-checks the checksum.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass

from sudata.store import PublishedStore

from . import engine, sqlcheck
from .disclosure import REFUSE, Rules, check_output
from .fields import identifying
from .store import Authorisation, OperationError, OperationStore, QuotaExceeded, seconds_to_midnight


@dataclass
class ZoneTable:
    table: sqlcheck.Table
    path: object
    version: int
    title: str


class Zone:
    def __init__(self, store: OperationStore, published: PublishedStore, rules: Rules | None = None):
        self.store = store
        self.published = published
        self.rules = rules or Rules.from_env()

    def tables(self, auth: Authorisation) -> dict[str, ZoneTable]:
        """The authorised tables: each dataset's current version, its authorised columns."""
        out = {}
        for name, fields in auth.datasets.items():
            entry, current = self.published.dataset(name), self.published.current_version(name)
            if entry is None or current is None or entry["open_type"] == "closed":
                continue
            f = (current["files"] or {}).get("parquet")
            if not f:
                continue
            columns = [c["name"] for c in entry["columns"]]
            allowed = tuple(c for c in columns if not fields or c in fields)
            out[name] = ZoneTable(sqlcheck.Table(name, allowed, frozenset(identifying(entry) & set(allowed))),
                                  self.published.path(current["path"]) / f["path"], current["version"],
                                  entry.get("title") or name)
        return out

    def submit(self, auth: Authorisation, sql: str) -> dict:
        """Check, run and output-check one query; the recorded query (its result is not released yet)."""
        if auth.mode != "zone":
            raise OperationError("this credential is for downloads, not the operation zone")
        if auth.quota_per_day is not None and self.store.queries_today(auth.application_id) >= auth.quota_per_day:
            raise QuotaExceeded(f"the daily quota of {auth.quota_per_day} zone queries is used up",
                                seconds_to_midnight(), auth.quota_per_day)
        sql = (sql or "").strip()
        if not sql or len(sql) > 20000:
            raise OperationError("sql: one SELECT statement, at most 20,000 characters")
        tables = self.tables(auth)
        record = {"sql": sql, "sql_hash": hashlib.sha256(sql.encode("utf-8")).hexdigest()}
        try:
            checked = sqlcheck.check(sql, {n: t.table for n, t in tables.items()}, self.rules.max_rows)
        except sqlcheck.QueryRefused as e:
            return self.store.query(self.store.record_query(auth, **record, status="refused", reason=str(e)))
        record.update(checked_sql=checked.sql,
                      sql_hash=hashlib.sha256(checked.sql.encode("utf-8")).hexdigest(),
                      versions={n: tables[n].version for n in checked.tables})
        views = [engine.View(n, tables[n].path, tables[n].table.columns) for n in checked.tables]
        try:
            result = engine.run(checked.sql, views, max_rows=self.rules.max_rows + 1)
        except engine.EngineError as e:
            return self.store.query(self.store.record_query(auth, **record, status="failed", reason=str(e)))
        report, releasable = check_output(checked, result, self.rules)
        return self.store.query(self.store.record_query(
            auth, **record, status=report.status, reason="; ".join(report.reasons) or None,
            report=report.to_dict(), result=releasable if report.status != REFUSE else None))

    def release(self, query_id: int, reviewer: str, department: str | None = None) -> dict:
        """A reviewer's release of a checked result: written once, checksummed, audited."""
        q = self.store.query(query_id)
        if q is None or (department is not None and q["department"] != department):
            raise OperationError(f"no zone query {query_id} for this department")
        if q["status"] not in ("safe", "review"):
            raise OperationError(f"query {query_id} is {q['status']}: it cannot be released")
        if q["released_at"]:
            raise OperationError(f"query {query_id} is already released")
        directory = self.store.releases_dir
        directory.mkdir(parents=True, exist_ok=True)
        name = f"q{query_id:06d}.csv"
        text = io.StringIO()
        w = csv.writer(text)
        w.writerow(q["result"]["columns"])
        w.writerows(q["result"]["rows"])
        data = ("\ufeff" + text.getvalue()).encode("utf-8")
        target = directory / name
        try:
            with open(target, "xb") as f:  # never overwrites: a released output is immutable
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(target, 0o444)
        except FileExistsError:
            # a release interrupted before it was recorded (or racing another reviewer): the same bytes only
            if target.read_bytes() != data:
                raise OperationError(f"{target} exists with other content: refusing to release query {query_id}") from None
        digest = hashlib.sha256(data).hexdigest()
        self.store.record_release(query_id, reviewer, name, digest, len(q["result"]["rows"]), q["application_id"])
        return self.store.query(query_id)

    def released_file(self, q: dict) -> bytes:
        """The released CSV, after checking it is the one whose checksum was recorded."""
        data = (self.store.releases_dir / q["path"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != q["sha256"]:
            raise OperationError(f"released output of query {q['id']} does not match its recorded checksum")
        return data


def public_query(q: dict, *, with_result: bool) -> dict:
    """A zone query as its operator sees it: the result only once released."""
    out = {k: q[k] for k in ("id", "application_id", "submitted_at", "sql", "sql_hash", "versions", "status",
                             "reason", "report")}
    out["released"] = bool(q.get("released_at"))
    if q.get("released_at"):
        out.update(released_at=q["released_at"], released_by=q["reviewer"], sha256=q["sha256"])
    if with_result and q.get("released_at"):
        out["result"] = q["result"]
    return out


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
