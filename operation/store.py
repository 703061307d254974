"""The operation store (``$SUDATA_HOME/operation/operation.sqlite``): applications, decisions,
credentials, reviewers, zone queries, releases and the audit trail. Never the published store.

Applications, decisions, zone queries, releases and audit rows are append-only (triggers refuse an
update or delete): an application's status is derived from its decision. Credentials and reviewer
sessions are stored as SHA-256 hashes only; a credential's revocation is its only change.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sudata.ledger import utcnow
from sudata.settings import TIMEZONE

from .passwords import hash_password, verify_password

MODES = ("download", "zone", "credit")
CREDENTIAL_PREFIX = "sdo_"

_APPEND_ONLY = ("applications", "decisions", "zone_queries", "releases", "audit", "credit_lookups")

SCHEMA = """
create table if not exists applications (
    id            integer primary key autoincrement,
    secret_hash   text not null,          -- the applicant's status secret, SHA-256
    organisation  text not null,
    uscc          text not null,
    contact_name  text not null,
    contact_phone text not null,
    contact_email text,
    purpose       text not null,
    scenario      text not null,
    department    text not null,          -- the providing department that reviews it
    datasets      text not null,          -- json {dataset: [fields] (empty: every field)}
    period_start  text not null,          -- YYYY-MM-DD, Beijing time, inclusive
    period_end    text not null,
    mode          text not null check (mode in ('download', 'zone', 'credit')),
    submitted_at  text not null
);
create table if not exists decisions (
    application_id integer primary key references applications(id),
    decision       text not null check (decision in ('approved', 'rejected')),
    reviewer       text not null,
    decided_at     text not null,
    reason         text,                  -- why rejected
    scope          text,                  -- json {datasets, period_start, period_end, quota_per_day, mode}
    conditions     text
);
create table if not exists credentials (
    id             integer primary key autoincrement,
    application_id integer not null unique references decisions(application_id),
    token_hash     text not null unique,
    prefix         text not null,
    issued_at      text not null,
    revoked_at     text
);
create table if not exists reviewers (
    id           integer primary key autoincrement,
    username     text not null unique,
    name         text not null,
    department   text not null,
    password     text not null,           -- scrypt (operation.passwords)
    created_at   text not null
);
create table if not exists reviewer_sessions (
    id_hash      text primary key,
    reviewer_id  integer not null references reviewers(id),
    created_at   text not null,
    expires_at   text not null,
    ended_at     text
);
create table if not exists operator_sessions (  -- a zone operator's browser login with the zone credential
    id_hash       text primary key,
    credential_id integer not null references credentials(id),
    created_at    text not null,
    expires_at    text not null,
    ended_at      text
);
create table if not exists zone_queries (
    id             integer primary key autoincrement,
    application_id integer not null,
    submitted_at   text not null,
    sql            text not null,          -- as submitted
    sql_hash       text not null,          -- SHA-256 of the query as run (lineage of a product)
    checked_sql    text,                   -- what the engine ran
    versions       text,                   -- json {table: version} read
    status         text not null check (status in ('refused', 'failed', 'safe', 'review', 'refuse')),
    reason         text,
    report         text,                   -- json output-check report
    result         text                    -- json {columns, rows} as it would be released
);
create table if not exists releases (
    query_id     integer primary key references zone_queries(id),
    reviewer     text not null,
    released_at  text not null,
    path         text not null,            -- relative to the releases directory
    sha256       text not null,
    rows         integer not null
);
create table if not exists credit_lookups (   -- one row per code a platform looked up
    id             integer primary key autoincrement,
    at             text not null,
    application_id integer not null,
    uscc           text not null,
    valid          integer not null,
    found          integer not null
);
create index if not exists credit_lookups_by_day on credit_lookups(application_id, at);
create table if not exists credit_usage (     -- codes looked up per application and day (Beijing): the quota
    application_id integer not null,
    day            text not null,
    codes          integer not null,
    primary key (application_id, day)
);
create table if not exists audit (
    id             integer primary key autoincrement,
    at             text not null,
    actor          text not null,
    action         text not null,
    application_id integer,
    detail         text not null default '{}'
);
"""
for _table in _APPEND_ONLY:
    SCHEMA += (
        f"create trigger if not exists {_table}_no_update before update on {_table}"
        f" begin select raise(abort, '{_table} is append-only'); end;\n"
        f"create trigger if not exists {_table}_no_delete before delete on {_table}"
        f" begin select raise(abort, '{_table} is append-only'); end;\n"
    )


_READY: dict[Path, sqlite3.Connection] = {}


class OperationError(ValueError):
    """A request the store refuses (unknown application, already decided, wrong secret, …)."""


class QuotaExceeded(OperationError):
    """The daily quota of the authorisation is used up; ``retry_after`` seconds until it renews."""

    def __init__(self, message: str, retry_after: int, limit: int | None = None, remaining: int = 0):
        super().__init__(message)
        self.retry_after = retry_after
        self.limit = limit
        self.remaining = remaining

    @property
    def headers(self) -> dict[str, str]:
        """What a 429 answer says: when to retry, and the quota (as every counted answer does)."""
        out = {"Retry-After": str(self.retry_after)}
        if self.limit is not None:
            out.update(quota_headers(self.limit, self.remaining, self.retry_after))
        return out


def quota_headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": str(reset)}


now = utcnow  # the clock every ledger records


def today() -> date:
    return datetime.now(ZoneInfo(TIMEZONE)).date()


def day_start() -> str:
    """The UTC timestamp (as the ledgers write it) at which today began in Beijing: daily quotas renew then."""
    start = datetime.combine(today(), datetime.min.time(), ZoneInfo(TIMEZONE)).astimezone(timezone.utc)
    return start.isoformat(timespec="seconds")


def seconds_to_midnight() -> int:
    local = datetime.now(ZoneInfo(TIMEZONE))
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
    return max(1, int((midnight - local).total_seconds()))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Authorisation:
    """What an approved application's credential allows."""

    credential_id: int
    application_id: int
    organisation: str
    department: str
    mode: str
    datasets: dict                       # {dataset: [fields]}; an empty list means every field
    period_start: str
    period_end: str
    quota_per_day: int | None
    conditions: str | None = None
    quota_unit: str | None = None        # a download quota counts "requests" or "rows" per day
    problem: str | None = None           # why it does not open anything today (expired, not yet valid)

    @property
    def valid(self) -> bool:
        return self.problem is None


@dataclass
class Reviewer:
    id: int
    username: str
    name: str
    department: str


@dataclass
class Application:
    row: dict
    decision: dict | None = None
    credential: dict | None = None
    audit: list[dict] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.row["id"]

    @property
    def status(self) -> str:
        return self.decision["decision"] if self.decision else "submitted"

    def to_dict(self, *, private: bool = True) -> dict:
        out = {k: v for k, v in self.row.items() if k != "secret_hash"}
        out["datasets"] = json.loads(out["datasets"])
        if not private:
            out = {k: out[k] for k in ("id", "organisation", "department", "datasets", "period_start",
                                       "period_end", "mode", "submitted_at")}
        out["status"] = self.status
        if self.decision:
            d = dict(self.decision)
            d["scope"] = json.loads(d["scope"]) if d.get("scope") else None
            out["decision"] = d
        out["credential_collected"] = self.credential is not None
        return out


class OperationStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()

    @property
    def releases_dir(self) -> Path:
        return self.path.parent / "releases"

    @property
    def projections_dir(self) -> Path:
        """Field subsets of versions served to download authorisations (``operation.downloads``)."""
        return self.path.parent / "projections"

    def connect(self) -> sqlite3.Connection:
        fresh = self.path not in _READY
        if fresh:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        if fresh:  # the schema once per process and file: a credit lookup connects on every call
            con.execute("pragma journal_mode=wal")
            con.executescript(SCHEMA)
            # one connection held open for the life of the process, so closing a call's connection is
            # never closing the last one (which would checkpoint the WAL and fsync on every call)
            _READY[self.path] = sqlite3.connect(self.path, check_same_thread=False)
        con.row_factory = sqlite3.Row
        return con

    def _thread_connection(self) -> sqlite3.Connection:
        """A connection kept for the calling thread, for the per-request paths (resolving a credential,
        a credit lookup's audit): no connect and no cold page cache on every call."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self.connect()
            # WAL without an fsync per commit: rows survive a crash of the process, only an OS crash or
            # power cut can lose the last ones (the database stays consistent either way)
            con.execute("pragma synchronous = normal")
        return con

    # -- audit ------------------------------------------------------------------------------------
    @staticmethod
    def _audit(con, actor: str, action: str, application_id: int | None, **detail) -> None:
        con.execute("insert into audit (at, actor, action, application_id, detail) values (?,?,?,?,?)",
                    (now(), actor, action, application_id, json.dumps(detail, ensure_ascii=False, default=str)))

    def audit(self, actor: str, action: str, application_id: int | None = None, **detail) -> None:
        with closing(self.connect()) as con:
            self._audit(con, actor, action, application_id, **detail)

    def audit_log(self, application_id: int | None = None, limit: int = 200) -> list[dict]:
        with closing(self.connect()) as con:
            if application_id is None:
                rows = con.execute("select * from audit order by id desc limit ?", (limit,))
            else:
                rows = con.execute("select * from audit where application_id = ? order by id", (application_id,))
            return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    # -- applications ------------------------------------------------------------------------------
    def submit(self, a: dict) -> tuple[int, str]:
        """Record a validated application (``operation.applications.validate``); returns its id and the
        applicant's status secret (shown once)."""
        secret = secrets.token_urlsafe(18)
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            cur = con.execute(
                "insert into applications (secret_hash, organisation, uscc, contact_name, contact_phone,"
                " contact_email, purpose, scenario, department, datasets, period_start, period_end, mode,"
                " submitted_at) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (_sha(secret), a["organisation"], a["uscc"], a["contact_name"], a["contact_phone"],
                 a.get("contact_email"), a["purpose"], a["scenario"], a["department"],
                 json.dumps(a["datasets"], ensure_ascii=False), a["period_start"], a["period_end"], a["mode"], now()))
            app_id = cur.lastrowid
            self._audit(con, a["organisation"], "application.submitted", app_id,
                        datasets=a["datasets"], mode=a["mode"], period=[a["period_start"], a["period_end"]])
            con.execute("commit")
        return app_id, secret

    def application(self, app_id: int) -> Application | None:
        with closing(self.connect()) as con:
            row = con.execute("select * from applications where id = ?", (app_id,)).fetchone()
            if row is None:
                return None
            decision = con.execute("select * from decisions where application_id = ?", (app_id,)).fetchone()
            cred = con.execute("select id, prefix, issued_at, revoked_at from credentials where application_id = ?",
                               (app_id,)).fetchone()
        return Application(dict(row), dict(decision) if decision else None, dict(cred) if cred else None,
                           self.audit_log(app_id))

    def applications(self, department: str | None = None, status: str | None = None) -> list[Application]:
        with closing(self.connect()) as con:
            ids = [r[0] for r in con.execute(
                "select id from applications where ? is null or department = ? order by id", (department, department))]
        apps = [self.application(i) for i in ids]
        return [a for a in apps if a is not None and (status is None or a.status == status)]

    def check_secret(self, app_id: int, secret: str) -> Application:
        app = self.application(app_id)
        if app is None or not secret or not secrets.compare_digest(app.row["secret_hash"], _sha(secret)):
            raise OperationError("no application with that number and secret")
        return app

    def approve(self, app_id: int, reviewer: str, scope: dict, conditions: str | None = None) -> Application:
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            if con.execute("select 1 from decisions where application_id = ?", (app_id,)).fetchone():
                con.execute("rollback")
                raise OperationError(f"application {app_id} is already decided")
            con.execute("insert into decisions (application_id, decision, reviewer, decided_at, scope, conditions)"
                        " values (?,?,?,?,?,?)",
                        (app_id, "approved", reviewer, now(), json.dumps(scope, ensure_ascii=False), conditions))
            self._audit(con, reviewer, "application.approved", app_id, scope=scope, conditions=conditions)
            con.execute("commit")
        return self.application(app_id)

    def reject(self, app_id: int, reviewer: str, reason: str) -> Application:
        if not reason or not reason.strip():
            raise OperationError("a rejection needs a reason")
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            if con.execute("select 1 from decisions where application_id = ?", (app_id,)).fetchone():
                con.execute("rollback")
                raise OperationError(f"application {app_id} is already decided")
            con.execute("insert into decisions (application_id, decision, reviewer, decided_at, reason)"
                        " values (?,?,?,?,?)", (app_id, "rejected", reviewer, now(), reason.strip()))
            self._audit(con, reviewer, "application.rejected", app_id, reason=reason.strip())
            con.execute("commit")
        return self.application(app_id)

    # -- credentials -------------------------------------------------------------------------------
    def collect_credential(self, app_id: int, secret: str) -> str:
        """The approved application's credential, issued now and shown this once (stored hashed)."""
        app = self.check_secret(app_id, secret)
        if app.status != "approved":
            raise OperationError(f"application {app_id} is {app.status}: a credential is issued on approval")
        token = CREDENTIAL_PREFIX + secrets.token_urlsafe(32)
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            try:
                con.execute("insert into credentials (application_id, token_hash, prefix, issued_at) values (?,?,?,?)",
                            (app_id, _sha(token), token[:10], now()))
            except sqlite3.IntegrityError:
                con.execute("rollback")
                raise OperationError(f"the credential of application {app_id} was already collected: it is shown"
                                     " once (ask the providing department to revoke it and reapply if it is lost)") from None
            self._audit(con, app.row["organisation"], "credential.issued", app_id, prefix=token[:10])
            con.execute("commit")
        return token

    def revoke_credential(self, app_id: int, actor: str) -> bool:
        with closing(self.connect()) as con:
            cur = con.execute("update credentials set revoked_at = ? where application_id = ? and revoked_at is null",
                              (now(), app_id))
            if cur.rowcount:
                from operation.downloads import remove_projections  # downloads builds on this module

                # the field subsets written for it are copies of conditional data: they go with the credential
                removed = remove_projections(self.projections_dir, app_id)
                self._audit(con, actor, "credential.revoked", app_id, projections_removed=removed)
            return cur.rowcount == 1

    def remove_ended_projections(self, actor: str = "system") -> dict[int, int]:
        """Delete the field subsets kept for applications whose authorisation ended: its period is over
        (Beijing time), its credential was revoked, or it holds no approval. Returns the files removed per
        application; each removal is audited."""
        from operation.downloads import remove_projections  # downloads builds on this module

        folders = self.projections_dir.iterdir() if self.projections_dir.is_dir() else []
        held = sorted(int(p.name.split("-", 1)[1]) for p in folders
                      if p.is_dir() and re.fullmatch(r"application-\d+", p.name))
        if not held:
            return {}
        day, removed = today().isoformat(), {}
        with closing(self.connect()) as con:
            marks = ", ".join("?" * len(held))
            live = {r["id"]: r for r in con.execute(
                "select a.id, d.scope, c.revoked_at from applications a"
                " join decisions d on d.application_id = a.id and d.decision = 'approved'"
                f" left join credentials c on c.application_id = a.id where a.id in ({marks})", held)}
            for app_id in held:
                r = live.get(app_id)
                if r is None:
                    reason = "not approved"
                elif r["revoked_at"]:
                    reason = "revoked"
                elif day > json.loads(r["scope"])["period_end"]:
                    reason = "period ended"
                else:
                    continue
                removed[app_id] = remove_projections(self.projections_dir, app_id)
                self._audit(con, actor, "projections.removed", app_id, files=removed[app_id], reason=reason)
        return removed

    _AUTHORISATION = (
        "select c.id as credential_id, c.revoked_at, a.id as application_id, a.organisation, a.department,"
        " d.scope, d.conditions from credentials c join applications a on a.id = c.application_id"
        " join decisions d on d.application_id = a.id where d.decision = 'approved' and ")

    def resolve(self, token: str | None) -> Authorisation | None:
        """What a credential allows (with ``problem`` set when it is outside its period), or None for an
        unknown or revoked one."""
        if not token or not token.startswith(CREDENTIAL_PREFIX):
            return None
        r = self._thread_connection().execute(self._AUTHORISATION + "c.token_hash = ?",
                                              (_sha(token.strip()),)).fetchone()
        return self._authorisation(r)

    # -- zone operators' browser sessions ------------------------------------------------------------
    def open_operator_session(self, token: str, hours: int = 8) -> tuple[str, Authorisation] | None:
        """A browser session for a valid zone credential (None for any other): the cookie holds its id,
        never the credential."""
        auth = self.resolve(token)
        with closing(self.connect()) as con:
            if auth is None or auth.mode != "zone" or not auth.valid:
                self._audit(con, auth.organisation if auth else "?", "operator.login_failed",
                            auth.application_id if auth else None)
                return None
            sid = secrets.token_urlsafe(32)
            expires = (datetime.now(timezone.utc) + timedelta(hours=hours)).isoformat(timespec="seconds")
            con.execute("insert into operator_sessions (id_hash, credential_id, created_at, expires_at) values (?,?,?,?)",
                        (_sha(sid), auth.credential_id, now(), expires))
            self._audit(con, auth.organisation, "operator.login", auth.application_id)
        return sid, auth

    def operator_session(self, sid: str | None) -> Authorisation | None:
        """The authorisation behind a live operator session (a revoked credential ends its sessions)."""
        if not sid:
            return None
        with closing(self.connect()) as con:
            r = con.execute(self._AUTHORISATION + "c.id = (select credential_id from operator_sessions"
                            " where id_hash = ? and ended_at is null and expires_at > ?)", (_sha(sid), now())).fetchone()
        return self._authorisation(r)

    def end_operator_session(self, sid: str | None) -> None:
        if sid:
            with closing(self.connect()) as con:
                con.execute("update operator_sessions set ended_at = ? where id_hash = ? and ended_at is null",
                            (now(), _sha(sid)))

    @staticmethod
    def _authorisation(r) -> Authorisation | None:
        if r is None or r["revoked_at"]:
            return None
        scope = json.loads(r["scope"])
        day = today().isoformat()
        problem = None
        if day < scope["period_start"]:
            problem = f"the authorisation starts on {scope['period_start']}"
        elif day > scope["period_end"]:
            problem = f"the authorisation expired on {scope['period_end']}"
        return Authorisation(
            credential_id=r["credential_id"], application_id=r["application_id"], organisation=r["organisation"],
            department=r["department"], mode=scope["mode"], datasets=scope["datasets"],
            period_start=scope["period_start"], period_end=scope["period_end"],
            quota_per_day=scope.get("quota_per_day"), conditions=r["conditions"], problem=problem,
            quota_unit=scope.get("quota_unit"))

    # -- reviewers ---------------------------------------------------------------------------------
    def add_reviewer(self, username: str, name: str, department: str, password: str) -> int:
        if len(password) < 10:
            raise OperationError("a reviewer password needs at least 10 characters")
        with closing(self.connect()) as con:
            try:
                cur = con.execute("insert into reviewers (username, name, department, password, created_at)"
                                  " values (?,?,?,?,?)", (username, name, department, hash_password(password), now()))
            except sqlite3.IntegrityError:
                raise OperationError(f"a reviewer named {username!r} exists") from None
            self._audit(con, "sudata reviewers add", "reviewer.created", None, username=username, department=department)
            return cur.lastrowid

    def login(self, username: str, password: str, hours: int = 8) -> tuple[str, Reviewer] | None:
        with closing(self.connect()) as con:
            r = con.execute("select * from reviewers where username = ?", (username,)).fetchone()
            ok = verify_password(password, r["password"]) if r else verify_password(password, _DUMMY)
            self._audit(con, username or "?", "reviewer.login" if ok and r else "reviewer.login_failed", None)
            if not (ok and r):
                return None
            sid = secrets.token_urlsafe(32)
            expires = (datetime.now(timezone.utc) + timedelta(hours=hours)).isoformat(timespec="seconds")
            con.execute("insert into reviewer_sessions (id_hash, reviewer_id, created_at, expires_at) values (?,?,?,?)",
                        (_sha(sid), r["id"], now(), expires))
            return sid, Reviewer(r["id"], r["username"], r["name"], r["department"])

    def session_reviewer(self, sid: str | None) -> Reviewer | None:
        if not sid:
            return None
        with closing(self.connect()) as con:
            r = con.execute("select r.* from reviewer_sessions s join reviewers r on r.id = s.reviewer_id"
                            " where s.id_hash = ? and s.ended_at is null and s.expires_at > ?",
                            (_sha(sid), now())).fetchone()
        return Reviewer(r["id"], r["username"], r["name"], r["department"]) if r else None

    def logout(self, sid: str | None) -> None:
        if sid:
            with closing(self.connect()) as con:
                con.execute("update reviewer_sessions set ended_at = ? where id_hash = ?", (now(), _sha(sid)))

    # -- zone queries and releases -------------------------------------------------------------------
    def record_query(self, auth: Authorisation, **q) -> int:
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            cur = con.execute(
                "insert into zone_queries (application_id, submitted_at, sql, sql_hash, checked_sql, versions, status,"
                " reason, report, result) values (?,?,?,?,?,?,?,?,?,?)",
                (auth.application_id, now(), q["sql"], q["sql_hash"], q.get("checked_sql"),
                 json.dumps(q.get("versions") or {}), q["status"], q.get("reason"),
                 json.dumps(q["report"], ensure_ascii=False) if q.get("report") else None,
                 json.dumps(q["result"], ensure_ascii=False, default=str) if q.get("result") else None))
            self._audit(con, auth.organisation, "zone.query", auth.application_id, query_id=cur.lastrowid,
                        status=q["status"], reason=q.get("reason"), sql_hash=q["sql_hash"])
            con.execute("commit")
            return cur.lastrowid

    def queries_today(self, app_id: int) -> int:
        with closing(self.connect()) as con:
            return con.execute("select count(*) from zone_queries where application_id = ? and submitted_at >= ?",
                               (app_id, day_start())).fetchone()[0]

    def query(self, query_id: int) -> dict | None:
        with closing(self.connect()) as con:
            r = con.execute("select q.*, a.department, a.organisation, r.reviewer, r.released_at, r.sha256, r.path,"
                            " r.rows as released_rows from zone_queries q join applications a on a.id = q.application_id"
                            " left join releases r on r.query_id = q.id where q.id = ?", (query_id,)).fetchone()
        if r is None:
            return None
        out = dict(r)
        for k in ("versions", "report", "result"):
            out[k] = json.loads(out[k]) if out[k] else None
        return out

    def application_queries(self, app_id: int, limit: int = 50) -> list[dict]:
        """An application's zone queries, newest first."""
        with closing(self.connect()) as con:
            ids = [r[0] for r in con.execute("select id from zone_queries where application_id = ? order by id desc"
                                             " limit ?", (app_id, limit))]
        return [self.query(i) for i in ids]

    def queries(self, department: str | None = None, pending: bool = False) -> list[dict]:
        with closing(self.connect()) as con:
            ids = [r[0] for r in con.execute(
                "select q.id from zone_queries q join applications a on a.id = q.application_id"
                " left join releases r on r.query_id = q.id where (? is null or a.department = ?)"
                " and (not ? or (r.query_id is null and q.status in ('safe', 'review'))) order by q.id",
                (department, department, pending))]
        return [self.query(i) for i in ids]

    def record_release(self, query_id: int, reviewer: str, path: str, sha256: str, rows: int, app_id: int) -> None:
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            try:
                con.execute("insert into releases (query_id, reviewer, released_at, path, sha256, rows) values (?,?,?,?,?,?)",
                            (query_id, reviewer, now(), path, sha256, rows))
            except sqlite3.IntegrityError:
                con.execute("rollback")
                raise OperationError(f"query {query_id} is already released") from None
            self._audit(con, reviewer, "zone.released", app_id, query_id=query_id, sha256=sha256, rows=rows)
            con.execute("commit")


    # -- credit checks -------------------------------------------------------------------------------
    def record_lookups(self, auth: Authorisation, codes: list[str], valid: list[bool], found: list[bool]) -> int:
        """One audit row per code looked up, and the day's count, in one transaction; with a daily quota,
        :class:`QuotaExceeded` (and nothing recorded) when these codes would go over it. Returns the
        codes looked up today, these included."""
        at, day = now(), today().isoformat()
        con = self._thread_connection()
        con.execute("begin immediate")
        try:
            used = self._codes_on(con, auth.application_id, day)
            if auth.quota_per_day is not None and used + len(codes) > auth.quota_per_day:
                raise QuotaExceeded(f"the daily quota of {auth.quota_per_day} codes would be exceeded"
                                    f" ({used} used today)", seconds_to_midnight(), auth.quota_per_day,
                                    auth.quota_per_day - used)
            app = auth.application_id
            con.executemany("insert into credit_lookups (at, application_id, uscc, valid, found) values (?,?,?,?,?)",
                            [(at, app, c, v, f) for c, v, f in zip(codes, valid, found)])
            con.execute("insert into credit_usage (application_id, day, codes) values (?,?,?) on conflict"
                        " (application_id, day) do update set codes = codes + excluded.codes", (app, day, len(codes)))
            con.execute("commit")
            return used + len(codes)
        except BaseException:
            con.execute("rollback")
            raise

    @staticmethod
    def _codes_on(con, app_id: int, day: str) -> int:
        r = con.execute("select codes from credit_usage where application_id = ? and day = ?", (app_id, day)).fetchone()
        if r is not None:
            return r[0]
        # the day's first lookup: the audit rows are the truth (a store written before the day's count was kept)
        return con.execute("select count(*) from credit_lookups where application_id = ? and at >= ?",
                           (app_id, day_start())).fetchone()[0]

    def lookups_today(self, app_id: int) -> int:
        return self._codes_on(self._thread_connection(), app_id, today().isoformat())

    def lookups(self, app_id: int) -> list[dict]:
        with closing(self.connect()) as con:
            return [dict(r) for r in con.execute("select * from credit_lookups where application_id = ? order by id",
                                                 (app_id,))]


_DUMMY = hash_password(secrets.token_hex(8))  # an unknown user costs the same scrypt as a wrong password
