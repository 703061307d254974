"""The published store: immutable dataset versions and the catalog index that makes one of them current.

Layout under ``$SUDATA_HOME/published``::

    catalog.sqlite                       index: datasets, versions, quality runs, Su Online slices
    datasets/<name>/v000003/             one immutable version
        data.parquet  datapackage.json  quality.json
        parts/csv/<drop date>.csv        the CSV (UTF-8 with BOM) and the JSON, one part per drop date,
        parts/json/<drop date>.json      assembled for readers (sudata.assembled, sudata.parts)
        suonline/<unit_code>.parquet     per street and per district slice (scoped datasets only)

A part or a slice identical to the current version's is a hard link to it: a version is complete on its
own, and the store keeps one copy of what did not change.

A version directory is assembled under ``.staging/``, renamed into place, and only then made current by
one SQLite transaction. A crash at any point leaves either the old current version or the new one;
directories that never reached the index are invisible to readers and are swept by the next publish.
The pipeline is the only writer; the portal opens the index read-only.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sudata.crash import crash_point
from sudata.files import sha256_file
from sudata.ledger import utcnow

SCHEMA = """
create table if not exists datasets (
    name              text primary key,
    title             text not null,
    title_en          text,
    description       text,
    department        text,          -- department id (CKAN organization name)
    department_name   text,
    domain            text,
    open_type         text not null check (open_type in ('unconditional', 'conditional', 'closed')),
    security_grade    text,
    update_frequency  text,
    scope_column      text,          -- grassroots scope column (street_code / district_code) or null
    tags              text not null default '[]',   -- json list
    columns           text not null default '[]',   -- json list of {name, type, description, grade, title}
    meta              text not null default '{}',   -- the model's full dbt meta, json
    current_version   integer,
    created_at        text not null,
    updated_at        text not null
);
create table if not exists versions (
    dataset        text not null references datasets(name),
    version        integer not null,
    published_at   text not null,
    run_id         text,
    drop_date      text,
    row_count      integer not null,
    path           text not null,     -- relative to the published root
    files          text not null,     -- json {format: {path, size, sha256, media_type}}
    schema         text not null,     -- json Frictionless Table Schema
    quality        text not null,     -- json quality report (see sudata.quality)
    primary key (dataset, version)
);
create table if not exists quality_runs (
    id                 integer primary key autoincrement,
    dataset            text not null,
    run_id             text,
    drop_date          text,
    checked_at         text not null,
    passed             integer not null,
    published_version  integer,       -- null when the gate blocked publication
    report             text not null  -- json quality report
);
create table if not exists suonline_slices (
    dataset      text not null,
    version      integer not null,
    unit_code    text not null,
    unit_level   text not null check (unit_level in ('street', 'district')),
    row_count    integer not null,
    sha256       text not null,
    path         text not null,
    primary key (dataset, version, unit_code)
);
create index if not exists quality_runs_dataset on quality_runs(dataset, checked_at);
"""


@dataclass(frozen=True)
class DatasetEntry:
    """Catalog metadata of one dataset, as read from its dbt model's ``meta``."""

    name: str
    title: str
    title_en: str
    description: str
    department: str
    department_name: str
    domain: str
    open_type: str
    security_grade: str
    update_frequency: str
    scope_column: str | None
    tags: list[str]
    columns: list[dict]
    meta: dict


class PublishedStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.index_path = self.root / "catalog.sqlite"

    # -- connections ---------------------------------------------------------------------------
    def connect(self, readonly: bool = False) -> sqlite3.Connection:
        if readonly:
            con = sqlite3.connect(f"file:{self.index_path}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.index_path, timeout=60, isolation_level=None)
            con.execute("pragma journal_mode=wal")
            con.execute("pragma synchronous=full")
            con.executescript(SCHEMA)
        con.row_factory = sqlite3.Row
        return con

    def exists(self) -> bool:
        return self.index_path.exists()

    # -- writing (pipeline only) ---------------------------------------------------------------
    def publish(
        self,
        entry: DatasetEntry,
        build: Callable[[Path], dict],
        *,
        run_id: str | None,
        drop_date: str | None,
        quality: dict,
        skip_if_unchanged: bool = True,
    ) -> int:
        """Build a new version with ``build(directory)`` and make it current atomically.

        When the built data is byte-identical to the current version (a re-run, a duplicate redelivery),
        no version is added: the gate's pass is recorded against the current one and its number returned.

        ``build`` writes the version's files into the directory it is given and returns
        ``{"row_count", "files", "schema", "slices": [{unit_code, unit_level, row_count, sha256, path}]}``
        with paths relative to that directory.
        """
        staging = self.root / ".staging" / uuid.uuid4().hex
        staging.mkdir(parents=True)
        try:
            built = build(staging)
            (staging / "quality.json").write_text(json.dumps(quality, ensure_ascii=False, indent=2), "utf-8")
            current = self.current_version(entry.name)
            if skip_if_unchanged and current and _same_data(current["files"], built["files"]):
                with closing(self.connect()) as con:
                    con.execute("begin immediate")
                    self._upsert_entry(con, entry, None)
                    con.execute(
                        "insert into quality_runs (dataset, run_id, drop_date, checked_at, passed,"
                        " published_version, report) values (?,?,?,?,?,?,?)",
                        (entry.name, run_id, drop_date, utcnow(), 1, current["version"],
                         json.dumps(quality, ensure_ascii=False)),
                    )
                    con.execute("commit")
                return current["version"]
            with closing(self.connect()) as con:
                version = self._next_version(con, entry.name)
                if current:
                    _share_unchanged(staging, self.root, self.slices(entry.name, current["version"]), built)
                _stamp_version(staging, built, version)
                _fsync_tree(staging)
                rel = Path("datasets") / entry.name / f"v{version:06d}"
                target = self.root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(staging, target)  # atomic within one filesystem
                crash_point("after_version_rename")
                now = utcnow()
                con.execute("begin immediate")
                try:
                    self._upsert_entry(con, entry, now)
                    con.execute(
                        "insert into versions values (?,?,?,?,?,?,?,?,?,?)",
                        (
                            entry.name, version, now, run_id, drop_date, built["row_count"], str(rel),
                            json.dumps(built["files"], ensure_ascii=False),
                            json.dumps(built["schema"], ensure_ascii=False),
                            json.dumps(quality, ensure_ascii=False),
                        ),
                    )
                    for s in built.get("slices", []):
                        con.execute(
                            "insert into suonline_slices values (?,?,?,?,?,?,?)",
                            (entry.name, version, s["unit_code"], s["unit_level"], s["row_count"], s["sha256"],
                             str(rel / s["path"])),
                        )
                    con.execute(
                        "update datasets set current_version = ?, updated_at = ? where name = ?",
                        (version, now, entry.name),
                    )
                    con.execute(
                        "insert into quality_runs (dataset, run_id, drop_date, checked_at, passed,"
                        " published_version, report) values (?,?,?,?,?,?,?)",
                        (entry.name, run_id, drop_date, now, 1, version, json.dumps(quality, ensure_ascii=False)),
                    )
                    crash_point("inside_index_write")
                    con.execute("commit")
                except BaseException:
                    con.execute("rollback")
                    raise
            return version
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def record_blocked(self, entry: DatasetEntry, *, run_id: str | None, drop_date: str | None, quality: dict) -> None:
        """A gate that failed: recorded for engineers and consumers, the current version is untouched."""
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            self._upsert_entry(con, entry, None)
            con.execute(
                "insert into quality_runs (dataset, run_id, drop_date, checked_at, passed, published_version, report)"
                " values (?,?,?,?,?,?,?)",
                (entry.name, run_id, drop_date, utcnow(), 0, None, json.dumps(quality, ensure_ascii=False)),
            )
            con.execute("commit")

    def sweep_orphans(self) -> list[Path]:
        """Remove version directories and staging left by a publish that died before its commit."""
        removed: list[Path] = []
        staging = self.root / ".staging"
        if staging.exists():
            for d in staging.iterdir():
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
        if not self.exists():
            return removed
        with closing(self.connect()) as con:
            known = {(r["dataset"], r["version"]) for r in con.execute("select dataset, version from versions")}
        for d in (self.root / "datasets").glob("*/v*"):
            key = (d.parent.name, int(d.name[1:]))
            if key not in known:
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
        return removed

    def _next_version(self, con: sqlite3.Connection, name: str) -> int:
        row = con.execute("select max(version) from versions where dataset = ?", (name,)).fetchone()
        on_disk = [int(p.name[1:]) for p in (self.root / "datasets" / name).glob("v*") if p.name[1:].isdigit()]
        return max([row[0] or 0, *on_disk]) + 1

    def _upsert_entry(self, con: sqlite3.Connection, e: DatasetEntry, now: str | None) -> None:
        now = now or utcnow()
        con.execute(
            """insert into datasets (name, title, title_en, description, department, department_name, domain,
                   open_type, security_grade, update_frequency, scope_column, tags, columns, meta,
                   current_version, created_at, updated_at)
               values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,null,?,?)
               on conflict(name) do update set title=excluded.title, title_en=excluded.title_en,
                   description=excluded.description, department=excluded.department,
                   department_name=excluded.department_name, domain=excluded.domain,
                   open_type=excluded.open_type, security_grade=excluded.security_grade,
                   update_frequency=excluded.update_frequency, scope_column=excluded.scope_column,
                   tags=excluded.tags, columns=excluded.columns, meta=excluded.meta""",
            (
                e.name, e.title, e.title_en, e.description, e.department, e.department_name, e.domain,
                e.open_type, e.security_grade, e.update_frequency, e.scope_column,
                json.dumps(e.tags, ensure_ascii=False), json.dumps(e.columns, ensure_ascii=False),
                json.dumps(e.meta, ensure_ascii=False), now, now,
            ),
        )

    # -- reading -------------------------------------------------------------------------------
    def datasets(self, include_closed: bool = True) -> list[dict]:
        if not self.exists():
            return []
        with closing(self.connect(readonly=True)) as con:
            rows = con.execute("select * from datasets order by name").fetchall()
        out = [_decode(dict(r)) for r in rows]
        return out if include_closed else [d for d in out if d["open_type"] != "closed"]

    def dataset(self, name: str) -> dict | None:
        if not self.exists():
            return None
        with closing(self.connect(readonly=True)) as con:
            r = con.execute("select * from datasets where name = ?", (name,)).fetchone()
        return _decode(dict(r)) if r else None

    def versions(self, name: str) -> list[dict]:
        if not self.exists():
            return []
        with closing(self.connect(readonly=True)) as con:
            rows = con.execute("select * from versions where dataset = ? order by version", (name,)).fetchall()
        return [_decode(dict(r)) for r in rows]

    def current_version(self, name: str) -> dict | None:
        if not self.exists():
            return None
        with closing(self.connect(readonly=True)) as con:
            r = con.execute(
                "select v.* from versions v join datasets d on d.name = v.dataset and d.current_version = v.version"
                " where d.name = ?",
                (name,),
            ).fetchone()
        return _decode(dict(r)) if r else None

    def quality_runs(self, name: str, limit: int = 50) -> list[dict]:
        if not self.exists():
            return []
        with closing(self.connect(readonly=True)) as con:
            rows = con.execute(
                "select * from quality_runs where dataset = ? order by id desc limit ?", (name, limit)
            ).fetchall()
        return [_decode(dict(r)) for r in rows]

    def overview(self) -> list[dict]:
        """Every dataset with its current version, its last quality run and its version numbers, in three
        queries whatever the size of the catalog (``sudata status``)."""
        if not self.exists():
            return []
        with closing(self.connect(readonly=True)) as con:
            datasets = [_decode(dict(r)) for r in con.execute("select * from datasets order by name")]
            current = {r["dataset"]: _decode(dict(r)) for r in con.execute(
                "select v.* from versions v join datasets d on d.name = v.dataset and d.current_version = v.version")}
            last_run = {r["dataset"]: _decode(dict(r)) for r in con.execute(
                "select * from quality_runs where id in (select max(id) from quality_runs group by dataset)")}
            numbers: dict[str, list[int]] = {}
            for r in con.execute("select dataset, version from versions order by dataset, version"):
                numbers.setdefault(r["dataset"], []).append(r["version"])
        return [{**d, "current": current.get(d["name"]), "last_quality_run": last_run.get(d["name"]),
                 "version_numbers": numbers.get(d["name"], [])} for d in datasets]

    def nights(self, include_closed: bool = True, con: sqlite3.Connection | None = None) -> dict:
        """Which night each current version stands for, and the datasets behind the latest night.

        Datasets are published one after the other, so a run that dies between two publications leaves
        the catalog with some datasets of the new night and others of the previous one. A dataset stands
        for the night of its latest passed gate (a pass with nothing new keeps its version but moves it on
        to that night). Behind the latest night a gate reached, a dataset is either ``blocked`` (its gate
        failed that night: it keeps its last good version until a night passes) or ``unpublished`` (no gate
        of that night yet: its run is still going or died; the next completed run publishes it).
        """
        empty = {"latest_night": None, "mixed": False, "interrupted": False, "nights": {}, "behind": []}
        if con is None:
            if not self.exists():
                return empty
            with closing(self.connect(readonly=True)) as own:
                return self.nights(include_closed, own)
        rows = con.execute(
            "select d.name, d.current_version,"
            " (select max(drop_date) from quality_runs q where q.dataset = d.name and q.passed = 1"
            "   and q.published_version is not null) as as_of,"
            " (select max(drop_date) from quality_runs q where q.dataset = d.name and q.passed = 0) as blocked_on"
            " from datasets d" + ("" if include_closed else " where d.open_type != 'closed'") + " order by d.name"
        ).fetchall()
        latest = con.execute("select max(drop_date) from quality_runs").fetchone()[0]
        if latest is None:
            return empty
        nights: dict[str, int] = {}
        behind = []
        for r in rows:
            as_of = r["as_of"] if r["current_version"] is not None else None
            if as_of:
                nights[as_of] = nights.get(as_of, 0) + 1
            if as_of is None or as_of < latest:
                blocked = r["blocked_on"] is not None and r["blocked_on"] >= latest
                behind.append({"dataset": r["name"], "as_of": as_of, "reason": "blocked" if blocked else "unpublished"})
        return {"latest_night": latest, "mixed": len(nights) > 1,
                "interrupted": any(b["reason"] == "unpublished" for b in behind),
                "nights": dict(sorted(nights.items())), "behind": behind}

    def slices(self, name: str, version: int) -> list[dict]:
        if not self.exists():
            return []
        with closing(self.connect(readonly=True)) as con:
            rows = con.execute(
                "select * from suonline_slices where dataset = ? and version = ? order by unit_code", (name, version)
            ).fetchall()
        return [dict(r) for r in rows]

    def path(self, relative: str) -> Path:
        return self.root / relative


_JSON_FIELDS = ("tags", "columns", "meta", "files", "schema", "quality", "report")


def _decode(row: dict) -> dict:
    for k in _JSON_FIELDS:
        if k in row and isinstance(row[k], str):
            row[k] = json.loads(row[k])
    return row


def _same_data(current_files: dict, new_files: dict) -> bool:
    a, b = current_files.get("parquet", {}), new_files.get("parquet", {})
    return bool(a.get("sha256")) and a.get("sha256") == b.get("sha256")


def _share_unchanged(staging: Path, root: Path, current_slices: list[dict], built: dict) -> None:
    """A Su Online slice identical to the current version's one becomes a hard link to it: the new version
    stays complete on its own (a link is a name of the same immutable file, which no version ever rewrites,
    and removing one version's directory leaves the others' files in place), and a night that changed a few
    units stores only their slices. Falls back to the copy where the filesystem cannot link."""
    previous = {s["unit_code"]: s for s in current_slices}
    for s in built.get("slices", []):
        before = previous.get(s["unit_code"])
        if not before or before["sha256"] != s["sha256"]:
            continue
        new, old = staging / s["path"], root / before["path"]
        if not old.exists() or new.stat().st_size != old.stat().st_size:
            continue
        spare = new.with_name(new.name + ".link")
        try:
            os.link(old, spare)
        except OSError:
            return
        os.replace(spare, new)


def _stamp_version(directory: Path, built: dict, version: int) -> None:
    """The store numbers versions: it writes the number into the version's Frictionless descriptor."""
    descriptor = directory / "datapackage.json"
    if not descriptor.exists():
        return
    package = json.loads(descriptor.read_text("utf-8"))
    package["version"] = str(version)
    descriptor.write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")
    if "datapackage" in built.get("files", {}):
        built["files"]["datapackage"].update(size=descriptor.stat().st_size, sha256=sha256_file(descriptor))


def _fsync_tree(directory: Path) -> None:
    for p in directory.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
