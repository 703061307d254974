"""The ingestion ledger: what was loaded from which file, and what was quarantined and why."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sudata.ledger import open_ledger, utcnow

SCHEMA = """
create table if not exists files (
    source      text not null,
    drop_date   text not null,
    file        text not null,      -- relative to the landing zone
    sha256      text not null,
    status      text not null check (status in ('loaded', 'duplicate', 'quarantined')),
    rows        integer not null default 0,
    bad_rows    integer not null default 0,
    reason      text,
    at          text not null,
    size        integer,            -- the file's stat when it was hashed: an unchanged stat is not hashed again
    mtime_ns    integer,
    primary key (source, drop_date, file)
);
create table if not exists partitions (
    source            text not null,
    drop_date         text not null,
    status            text not null check (status in ('loaded', 'unchanged', 'duplicate', 'quarantined', 'missing')),
    rows              integer not null,
    files             integer not null,
    quarantined_files integer not null,
    quarantined_rows  integer not null,
    content_key       text,          -- sha256s of the loaded files, sorted: a partition is rebuilt only when it changes
    at                text not null,
    -- the lake partition this row claims (content_key set): its row count and its stat when written
    lake_rows         integer,
    lake_size         integer,
    lake_mtime_ns     integer,
    primary key (source, drop_date)
);
create table if not exists quarantine (
    id          integer primary key autoincrement,
    source      text not null,
    drop_date   text not null,
    file        text not null,
    sha256      text,
    kind        text not null check (kind in ('file', 'rows')),
    rows        integer not null default 0,
    reason      text not null,
    kept_at     text,               -- quarantine copy / rows file, relative to SUDATA_HOME
    at          text not null
);
"""


now = utcnow  # the clock every ledger records


def connect(path: Path) -> sqlite3.Connection:
    con = open_ledger(path, SCHEMA, wal=True)
    _migrate(con)
    return con


def _migrate(con: sqlite3.Connection) -> None:
    """Ledgers written before the stat columns existed gain them (their files are hashed once more, their
    partitions' footers read once more)."""
    for table, columns in (("files", ("size", "mtime_ns")), ("partitions", ("lake_rows", "lake_size", "lake_mtime_ns"))):
        have = {r[1] for r in con.execute(f"pragma table_info({table})")}
        for column in columns:
            if column not in have:
                con.execute(f"alter table {table} add column {column} integer")


def partition_summary(path: Path) -> list[dict]:
    """Latest partition of every source, with totals: what `sudata status` prints."""
    if not path.exists():
        return []
    with closing(connect(path)) as con:
        rows = con.execute(
            """select p.*, (select sum(rows) from partitions q where q.source = p.source
                              and q.status in ('loaded', 'unchanged')) as total_rows,
                      (select sum(quarantined_rows) from partitions q where q.source = p.source) as total_quarantined_rows,
                      (select count(*) from quarantine q where q.source = p.source and q.kind = 'file') as total_quarantined_files
               from partitions p
               where p.drop_date = (select max(drop_date) from partitions q where q.source = p.source)
               order by p.source"""
        ).fetchall()
    return [dict(r) for r in rows]


def partition(path: Path, source: str, drop_date: str) -> dict | None:
    if not path.exists():
        return None
    with closing(connect(path)) as con:
        r = con.execute("select * from partitions where source = ? and drop_date = ?", (source, drop_date)).fetchone()
    return dict(r) if r else None


def quarantine_records(path: Path, source: str | None = None, limit: int = 200) -> list[dict]:
    if not path.exists():
        return []
    with closing(connect(path)) as con:
        sql = "select * from quarantine" + (" where source = ?" if source else "") + " order by id desc limit ?"
        args = (source, limit) if source else (limit,)
        return [dict(r) for r in con.execute(sql, args)]
