"""Acceptances: a data engineer's deliberate, audited way through a blocking check, for one version.

    sudata gate accept air_quality_daily row_count_change --by 王工 --reason "2019-2025 backfill from the bureau"
    sudata run --backfill air_quality_hourly --by 王工 --reason "..."   # the same for every dataset of a source

An acceptance names a dataset and a blocking check. The next gate of that dataset still runs the check and
reports its result, but a failure of an accepted check does not block: the report says who accepted it,
when and why, and the version it let through records that it was used. Acceptances are never edited or
deleted (the ledger refuses it); a pending one can be withdrawn, which is itself recorded.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sudata.ledger import open_ledger, utcnow

SCHEMA = """
create table if not exists acceptances (
    id           integer primary key autoincrement,
    dataset      text not null,
    check_name   text not null,
    accepted_by  text not null check (length(trim(accepted_by)) > 0),
    reason       text not null check (length(trim(reason)) > 0),
    accepted_at  text not null,
    source       text,                 -- the backfilled source, when a backfill asked for it
    used_version integer,              -- the version it let through
    used_run_id  text,
    used_at      text,
    withdrawn_at text
);
-- the audit trail is append-only: what was accepted, by whom and why never changes, and a use or a
-- withdrawal is recorded once
create trigger if not exists acceptances_no_delete before delete on acceptances
begin select raise(abort, 'acceptances are an audit trail: they are never deleted'); end;
create trigger if not exists acceptances_fixed before update on acceptances
when new.dataset is not old.dataset or new.check_name is not old.check_name
    or new.accepted_by is not old.accepted_by or new.reason is not old.reason
    or new.accepted_at is not old.accepted_at or new.source is not old.source
    or (old.used_at is not null and (new.used_at is not old.used_at or new.used_version is not old.used_version))
    or (old.withdrawn_at is not null and new.withdrawn_at is not old.withdrawn_at)
begin select raise(abort, 'acceptances are an audit trail: a recorded fact is never changed'); end;
"""


class Acceptances:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        return open_ledger(self.path, SCHEMA)

    def accept(self, dataset: str, check_name: str, *, by: str, reason: str, source: str | None = None) -> int:
        if not by.strip() or not reason.strip():
            raise ValueError("an acceptance needs who accepts it (--by) and why (--reason)")
        with closing(self._connect()) as con:
            cur = con.execute(
                "insert into acceptances (dataset, check_name, accepted_by, reason, accepted_at, source)"
                " values (?, ?, ?, ?, ?, ?)", (dataset, check_name, by.strip(), reason.strip(), utcnow(), source))
            return int(cur.lastrowid)

    def pending(self, dataset: str) -> list[dict]:
        """Acceptances of ``dataset`` not yet used by a version nor withdrawn, oldest first."""
        if not self.path.exists():
            return []
        with closing(self._connect()) as con:
            rows = con.execute("select * from acceptances where dataset = ? and used_at is null"
                               " and withdrawn_at is null order by id", (dataset,)).fetchall()
        return [dict(r) for r in rows]

    def used(self, ids: list[int], *, version: int, run_id: str | None) -> None:
        if not ids:
            return
        with closing(self._connect()) as con:
            con.executemany("update acceptances set used_version = ?, used_run_id = ?, used_at = ?"
                            " where id = ? and used_at is null", [(version, run_id, utcnow(), i) for i in ids])

    def withdraw(self, acceptance_id: int) -> bool:
        with closing(self._connect()) as con:
            cur = con.execute("update acceptances set withdrawn_at = ? where id = ? and used_at is null"
                              " and withdrawn_at is null", (utcnow(), acceptance_id))
            return cur.rowcount == 1

    def history(self, dataset: str | None = None) -> list[dict]:
        if not self.path.exists():
            return []
        with closing(self._connect()) as con:
            rows = con.execute("select * from acceptances where ? is null or dataset = ? order by id desc",
                               (dataset, dataset)).fetchall()
        return [dict(r) for r in rows]


def apply_acceptances(checks: list, accepted: list[dict]) -> tuple[list, list[int]]:
    """Checks with each failed blocking check that an acceptance names turned non-blocking, its detail
    saying who accepted it and why; and the ids of the acceptances that were needed."""
    from sudata.quality.report import CheckResult

    by_check = {a["check_name"]: a for a in accepted}
    out, used = [], []
    for c in checks:
        a = by_check.get(c.name)
        if a is not None and c.blocking and not c.passed:
            observed = {**(c.observed or {}), "accepted": {k: a[k] for k in ("id", "accepted_by", "reason", "accepted_at")}}
            detail = (f"{c.detail} — accepted for this version by {a['accepted_by']} on {a['accepted_at']}: "
                      f"{a['reason']}")
            c = CheckResult(c.name, c.source, c.dimension, c.passed, False, observed, detail)
            used.append(int(a["id"]))
        out.append(c)
    return out, used
