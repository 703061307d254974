"""Access keys and the access log (portal side; the only state the portal writes),
and the download counts shown on dataset pages.

A key is a random token shown once; only its SHA-256 is stored. A key has a scope:
``dataset:<name>`` opens one conditional dataset, ``unit:<code>`` opens one Su Online unit
(a district code opens its streets). Every read of scoped data is appended to the access log.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from contextlib import closing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sudata.ledger import open_ledger, utcnow

# A hold a request never released (its process died before the log row) stops counting after this.
HOLD_SECONDS = 600

SCHEMA = """
create table if not exists keys (
    id          integer primary key autoincrement,
    key_hash    text not null unique,
    prefix      text not null,            -- first characters, to recognise a key in listings
    scope_type  text not null check (scope_type in ('dataset', 'unit')),
    scope       text not null,
    holder      text not null,
    created_at  text not null,
    expires_at  text,
    revoked_at  text
);
create table if not exists access_log (
    id          integer primary key autoincrement,
    at          text not null,
    key_id      integer,
    holder      text,
    scope_type  text,
    scope       text,
    action      text not null,            -- e.g. datastore_search, download.csv, suonline.slice
    target      text not null,            -- dataset / unit addressed
    rows        integer,
    status      integer not null
);
create table if not exists sessions (      -- Su Online browser logins: the cookie holds the id, never the key
    id_hash     text primary key,             -- SHA-256 of the session id
    key_id      integer not null references keys(id),
    created_at  text not null,
    expires_at  text not null,
    ended_at    text
);
create table if not exists download_counts (  -- files served per dataset and format, open data included
    dataset     text not null,
    format      text not null,
    downloads   integer not null default 0,
    last_at     text not null,
    primary key (dataset, format)
);
create table if not exists quota_holds (  -- what admitted requests take of a daily quota until logged
    id          integer primary key autoincrement,
    scope       text not null,
    at          text not null,
    rows        integer not null
);
create index if not exists access_log_by_scope on access_log(scope, at);
create trigger if not exists access_log_append_only_update before update on access_log
begin select raise(abort, 'access_log is append-only'); end;
create trigger if not exists access_log_append_only_delete before delete on access_log
begin select raise(abort, 'access_log is append-only'); end;
"""


def _hold_cutoff() -> str:
    """The oldest hold that still counts, as the ledgers write times."""
    return (datetime.now(timezone.utc) - timedelta(seconds=HOLD_SECONDS)).isoformat(timespec="seconds")


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Grant:
    key_id: int | None            # None for an approved application's credential (operation store)
    holder: str
    scope_type: str
    scope: str
    columns: tuple[str, ...] | None = None   # the only columns it opens (None: the whole file)
    headers: tuple[tuple[str, str], ...] = ()  # what its answers say of its daily quota
    hold: int | None = None  # the quota this request holds until its access log row is written


class AccessStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def connect(self) -> sqlite3.Connection:
        return open_ledger(self.path, SCHEMA, timeout=30, wal=True, shared=True)

    def issue(self, scope_type: str, scope: str, holder: str, expires_at: str | None = None) -> str:
        token = "sd_" + secrets.token_urlsafe(32)
        with closing(self.connect()) as con:
            con.execute(
                "insert into keys (key_hash, prefix, scope_type, scope, holder, created_at, expires_at)"
                " values (?,?,?,?,?,?,?)",
                (hash_key(token), token[:10], scope_type, scope, holder, utcnow(), expires_at),
            )
        return token

    def revoke(self, key_id: int) -> bool:
        with closing(self.connect()) as con:
            cur = con.execute("update keys set revoked_at = ? where id = ? and revoked_at is null", (utcnow(), key_id))
            return cur.rowcount == 1

    def list(self) -> list[dict]:
        with closing(self.connect()) as con:
            return [dict(r) for r in con.execute(
                "select id, prefix, scope_type, scope, holder, created_at, expires_at, revoked_at from keys order by id")]

    def resolve(self, token: str | None) -> Grant | None:
        """The grant of a valid (known, unrevoked, unexpired) key, else None."""
        if not token:
            return None
        with closing(self.connect()) as con:
            r = con.execute("select * from keys where key_hash = ?", (hash_key(token.strip()),)).fetchone()
        if r is None or r["revoked_at"] is not None:
            return None
        if r["expires_at"] and r["expires_at"] < utcnow():
            return None
        return Grant(key_id=r["id"], holder=r["holder"], scope_type=r["scope_type"], scope=r["scope"])

    def open_session(self, grant: Grant, days: int = 30) -> str:
        """A new browser session for ``grant``'s key; returns the session id (shown to the browser only)."""
        sid = secrets.token_urlsafe(32)
        expires = (datetime.now(timezone.utc) + timedelta(days=days)).isoformat(timespec="seconds")
        with closing(self.connect()) as con:
            con.execute("insert into sessions (id_hash, key_id, created_at, expires_at) values (?,?,?,?)",
                        (hash_key(sid), grant.key_id, utcnow(), expires))
        return sid

    def resolve_session(self, sid: str | None) -> Grant | None:
        """The grant behind a live session whose key is still valid (revoking the key ends its sessions)."""
        if not sid:
            return None
        with closing(self.connect()) as con:
            r = con.execute(
                "select k.* from sessions s join keys k on k.id = s.key_id"
                " where s.id_hash = ? and s.ended_at is null and s.expires_at > ?", (hash_key(sid), utcnow())).fetchone()
        if r is None or r["revoked_at"] is not None or (r["expires_at"] and r["expires_at"] < utcnow()):
            return None
        return Grant(key_id=r["id"], holder=r["holder"], scope_type=r["scope_type"], scope=r["scope"])

    def end_session(self, sid: str | None) -> None:
        if sid:
            with closing(self.connect()) as con:
                con.execute("update sessions set ended_at = ? where id_hash = ? and ended_at is null",
                            (utcnow(), hash_key(sid)))

    def log(self, grant: Grant | None, action: str, target: str, rows: int | None, status: int) -> None:
        """Append the request to the access log and, in the same transaction, release its quota hold."""
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            con.execute(
                "insert into access_log (at, key_id, holder, scope_type, scope, action, target, rows, status)"
                " values (?,?,?,?,?,?,?,?,?)",
                (utcnow(), grant.key_id if grant else None, grant.holder if grant else None,
                 grant.scope_type if grant else None, grant.scope if grant else None, action, target, rows, status),
            )
            if grant is not None and grant.hold is not None:
                con.execute("delete from quota_holds where id = ?", (grant.hold,))
            con.execute("commit")

    @staticmethod
    def _usage(con: sqlite3.Connection, scope: str, since: str) -> tuple[int, int]:
        """Requests served and rows read under ``scope`` since ``since`` (HEAD requests and refusals
        take nothing), with what requests admitted but not yet logged hold."""
        n, rows = con.execute(
            "select count(*), coalesce(sum(rows), 0) from access_log where scope = ? and at >= ?"
            " and status = 200 and action not like 'head.%'", (scope, since)).fetchone()
        cutoff = max(since, _hold_cutoff())
        held, held_rows = con.execute("select count(*), coalesce(sum(rows), 0) from quota_holds where scope = ? and at >= ?",
                                      (scope, cutoff)).fetchone()
        return n + held, rows + held_rows

    def hold(self, scope: str, since: str, rows: int, take: Callable[[int, int], object]):
        """Check a request against its quota and hold what it takes, atomically: ``take(requests, rows)``
        sees today's usage and raises when the request would go over it. Concurrent requests (threads or
        portal processes) are admitted one after the other, so together they never exceed the quota.
        Returns ``(take's result, hold id)``; :meth:`log` releases the hold."""
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            try:
                allowance = take(*self._usage(con, scope, since))
                con.execute("delete from quota_holds where at < ?", (_hold_cutoff(),))
                hold = con.execute("insert into quota_holds (scope, at, rows) values (?, ?, ?)",
                                   (scope, utcnow(), rows)).lastrowid
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")
        return allowance, hold

    def access_log(self, limit: int = 100) -> list[dict]:
        with closing(self.connect()) as con:
            return [dict(r) for r in con.execute("select * from access_log order by id desc limit ?", (limit,))]

    def count_download(self, dataset: str, fmt: str) -> None:
        with closing(self.connect()) as con:
            con.execute(
                "insert into download_counts (dataset, format, downloads, last_at) values (?,?,1,?)"
                " on conflict (dataset, format) do update set downloads = downloads + 1, last_at = excluded.last_at",
                (dataset, fmt, utcnow()))

    def download_counts(self, dataset: str) -> dict[str, int]:
        """Files of ``dataset`` served so far, per format (every version counted)."""
        with closing(self.connect()) as con:
            return {r["format"]: r["downloads"] for r in con.execute(
                "select format, downloads from download_counts where dataset = ?", (dataset,))}
