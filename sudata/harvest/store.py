"""Harvested entries in the published store's index (``catalog.sqlite``), beside the own datasets.

``harvested`` holds one row per (source, remote identifier): the entry's stable id and name here, its
metadata, provenance (source, original link, the source's modified time, when it was harvested) and its
state, ``active`` or ``withdrawn`` (removed at the source; kept, never listed). ``harvest_jobs`` is the
report of every job. The pipeline writes both; the portal reads the active entries.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from dataclasses import asdict

from sudata.ledger import utcnow
from sudata.store import PublishedStore

from .records import Record

SCHEMA = """
create table if not exists harvested (
    id              text primary key,        -- uuid5 of (source, remote id): stable across jobs
    name            text not null unique,
    source          text not null,
    remote_id       text not null,
    remote_name     text,
    title           text not null,
    description     text,
    organization    text not null,
    organization_title text,
    publisher       text,
    domain          text,
    open_type       text not null,
    update_frequency text,
    tags            text not null default '[]',
    resources       text not null default '[]',
    license         text not null default '{}',
    original_url    text not null,
    remote_modified text,
    state           text not null check (state in ('active', 'withdrawn')),
    created_at      text not null,
    updated_at      text not null,
    harvested_at    text not null,
    withdrawn_at    text,
    job_id          integer,
    unique (source, remote_id)
);
create index if not exists harvested_source on harvested(source, state);
create table if not exists harvest_jobs (
    id           integer primary key autoincrement,
    source       text not null,
    started_at   text not null,
    finished_at  text,
    status       text not null,              -- running | finished | timed_out | failed
    gathered     integer not null default 0,
    added        integer not null default 0,
    updated      integer not null default 0,
    unchanged    integer not null default 0,
    withdrawn    integer not null default 0,
    invalid      integer not null default 0,
    errors       text not null default '[]', -- [{remote_id, reason}] of records not imported
    message      text
);
"""
_NS = uuid.UUID("0d7f4c1e-3a52-4c7b-9f0e-8b6a1d2c3e4f")


def harvested_id(source: str, remote_id: str) -> str:
    return str(uuid.uuid5(_NS, f"{source}/{remote_id}"))


class HarvestStore:
    def __init__(self, store: PublishedStore):
        self.store = store

    def connect(self) -> sqlite3.Connection:
        con = self.store.connect()
        con.executescript(SCHEMA)
        return con

    def start_job(self, source: str) -> int:
        with closing(self.connect()) as con:
            return con.execute("insert into harvest_jobs (source, started_at, status) values (?, ?, 'running')",
                               (source, utcnow())).lastrowid

    def finish_job(self, job_id: int, status: str, counts: dict, errors: list[dict], message: str = "") -> None:
        with closing(self.connect()) as con:
            con.execute(
                "update harvest_jobs set finished_at = ?, status = ?, gathered = ?, added = ?, updated = ?,"
                " unchanged = ?, withdrawn = ?, invalid = ?, errors = ?, message = ? where id = ?",
                (utcnow(), status, counts.get("gathered", 0), counts.get("added", 0), counts.get("updated", 0),
                 counts.get("unchanged", 0), counts.get("withdrawn", 0), len(errors),
                 json.dumps(errors, ensure_ascii=False), message, job_id))

    def last_finished(self, source: str) -> dict | None:
        """The last job that gathered everything it was asked for (its start is the next job's 'since')."""
        with closing(self.connect()) as con:
            row = con.execute("select * from harvest_jobs where source = ? and status = 'finished'"
                              " order by id desc limit 1", (source,)).fetchone()
        return dict(row) if row else None

    def jobs(self, source: str | None = None) -> list[dict]:
        with closing(self.connect()) as con:
            rows = con.execute("select * from harvest_jobs where ? is null or source = ? order by id",
                               (source, source)).fetchall()
        return [{**dict(r), "errors": json.loads(r["errors"])} for r in rows]

    def known(self, source: str) -> dict[str, dict]:
        """remote id → {remote_name, remote_modified, state} of every entry ever harvested from ``source``."""
        with closing(self.connect()) as con:
            rows = con.execute("select remote_id, remote_name, remote_modified, state from harvested"
                               " where source = ?", (source,)).fetchall()
        return {r["remote_id"]: dict(r) for r in rows}

    def entries(self, source: str | None = None, state: str | None = "active") -> list[dict]:
        with closing(self.connect()) as con:
            rows = con.execute("select * from harvested where (? is null or source = ?) and (? is null or state = ?)"
                               " order by name", (source, source, state, state)).fetchall()
        return [dict(r) for r in rows]

    def upsert(self, con: sqlite3.Connection, *, source, organization: tuple[str, str], name: str,
               record: Record, job_id: int) -> None:
        now = utcnow()
        license_ = {"id": record.license_id, "title": record.license_title, "url": record.license_url}
        values = dict(
            id=harvested_id(source, record.remote_id), name=name, source=source, remote_id=record.remote_id,
            remote_name=record.remote_name, title=record.title, description=record.description,
            organization=organization[0], organization_title=organization[1], publisher=record.publisher,
            domain=record.domain, open_type=record.open_type, update_frequency=record.update_frequency,
            tags=json.dumps(record.tags, ensure_ascii=False),
            resources=json.dumps(record.resources, ensure_ascii=False),
            license=json.dumps(license_, ensure_ascii=False), original_url=record.original_url,
            remote_modified=record.modified, state="active", created_at=now,
            updated_at=record.modified or now, harvested_at=now, job_id=job_id,
        )
        cols = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        updates = ", ".join(f"{k} = excluded.{k}" for k in values if k not in ("id", "created_at"))
        con.execute(f"insert into harvested ({cols}) values ({marks}) on conflict (source, remote_id) do update"
                    f" set {updates}, withdrawn_at = null", values)

    def withdraw(self, con: sqlite3.Connection, source: str, remote_ids: list[str], job_id: int) -> None:
        now = utcnow()
        con.executemany("update harvested set state = 'withdrawn', withdrawn_at = ?, job_id = ?"
                        " where source = ? and remote_id = ? and state = 'active'",
                        [(now, job_id, source, rid) for rid in remote_ids])


def record_dict(record: Record) -> dict:
    return asdict(record)
