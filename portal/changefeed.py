"""Row-level change feed between two published versions, by primary key, computed with DuckDB.

Given the Parquet files of an older and a newer version (a dataset's ``data.parquet`` or one unit's
Su Online slice), :func:`diff` returns

* ``added``   — rows of the new version whose key is not in the old one (new values),
* ``changed`` — ``{"key", "columns", "before", "after"}`` for keys present in both whose other values
  differ (``columns`` lists the columns that differ; nulls compare as values),
* ``removed`` — rows of the old version whose key is gone (old values),

each sorted by the key. A missing side (``None``: the unit had no slice in that version) is an empty
table, so the first delivery is all ``added``. Columns that exist on one side only are reported in
``columns_added`` / ``columns_removed`` and not compared; ``exclude`` drops columns from the comparison
and from the rows (used for columns the portal refuses to serve).

:func:`diff_versions` reads the file locations from the published store's index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import threading

import duckdb

from sudata.sql import quote_ident, quote_literal
from sudata.store import PublishedStore


class ChangeFeedError(ValueError):
    pass


_BASE: duckdb.DuckDBPyConnection | None = None
_BASE_LOCK = threading.Lock()


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh DuckDB connection to one process-wide in-memory database.

    Opening an in-memory database costs milliseconds; a cursor on a shared one costs microseconds,
    has its own temporary objects and may be used from its own thread. Close it after use.
    """
    global _BASE
    if _BASE is None:
        with _BASE_LOCK:
            if _BASE is None:
                _BASE = duckdb.connect()
    return _BASE.cursor()


@dataclass
class ChangeSet:
    primary_key: list[str]
    columns: list[str]                      # columns served in rows (key columns first)
    added: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)

    def counts(self) -> dict:
        return {"added": len(self.added), "changed": len(self.changed), "removed": len(self.removed)}


def _view(con: duckdb.DuckDBPyConnection, name: str, path: Path | None, like: Path | None) -> list[tuple[str, str]]:
    """Load ``path`` (or an empty table shaped like ``like``) as temp table ``name``; return (column, type).

    Loaded once: the diff runs several queries over each side."""
    src = path if path is not None else like
    if src is None:
        raise ChangeFeedError("diff needs at least one side")
    limit = "" if path is not None else " limit 0"
    con.execute(f"create or replace temp table {name} as"
                f" select * from read_parquet({quote_literal(Path(src).as_posix())}){limit}")
    return [(r[0], r[1]) for r in con.execute(f"describe {name}").fetchall()]


def _drop(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("drop table if exists _cf_old")
        con.execute("drop table if exists _cf_new")
    finally:
        con.close()


def _check_unique(con: duckdb.DuckDBPyConnection, view: str, key: list[str], label: str) -> None:
    cols = ", ".join(quote_ident(k) for k in key)
    dup = con.execute(f"select count(*) from (select {cols} from {view} group by all having count(*) > 1)").fetchone()[0]
    if dup:
        raise ChangeFeedError(f"{label}: {dup} primary key value(s) of {key} occur more than once")


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def _setup(con, old, new, primary_key, exclude):
    key = list(primary_key)
    if not key:
        raise ChangeFeedError("a change feed needs a primary key")
    old_cols = dict(_view(con, "_cf_old", old, new))
    new_cols = dict(_view(con, "_cf_new", new, old))
    excluded = set(exclude)
    for k in key:
        if k not in old_cols or k not in new_cols:
            raise ChangeFeedError(f"primary key column {k!r} is missing from a version")
        if k in excluded:
            raise ChangeFeedError(f"primary key column {k!r} cannot be excluded")
    _check_unique(con, "_cf_old", key, "old version")
    _check_unique(con, "_cf_new", key, "new version")

    def same_type(c: str) -> bool:
        return old_cols[c] == new_cols[c]

    def side(alias: str, c: str) -> str:
        return f"{alias}.{quote_ident(c)}" if same_type(c) else f"cast({alias}.{quote_ident(c)} as varchar)"

    def join(o: str = "o", n: str = "n") -> str:
        return " and ".join(f"{side(o, k)} is not distinct from {side(n, k)}" for k in key)
    compared = [c for c in new_cols if c in old_cols and c not in key and c not in excluded]
    new_only = [c for c in new_cols if c not in old_cols and c not in excluded]
    old_only = [c for c in old_cols if c not in new_cols and c not in excluded]
    return key, old_cols, new_cols, excluded, side, join, compared, new_only, old_only


def _order(alias: str, key: list[str]) -> str:
    return ", ".join(f"{alias}.{quote_ident(k)}" for k in key)


def diff(
    old: str | Path | None,
    new: str | Path | None,
    primary_key: Iterable[str],
    *,
    exclude: Iterable[str] = (),
) -> ChangeSet:
    """Added / changed / removed rows between two Parquet files, by ``primary_key``."""
    if old is None and new is None:
        return ChangeSet(primary_key=list(primary_key), columns=[])
    con = cursor()
    try:
        key, old_cols, new_cols, excluded, side, join, compared, new_only, old_only = _setup(
            con, old, new, primary_key, exclude)
        new_serve = [c for c in new_cols if c not in excluded]
        old_serve = [c for c in old_cols if c not in excluded]

        def rows(alias: str, view: str, other: str, cols: list[str]) -> list[dict]:
            sel = ", ".join(f"{alias}.{quote_ident(c)}" for c in cols)
            other_alias = "o" if alias == "n" else "n"
            sql = (f"select {sel} from {view} {alias} where not exists "
                   f"(select 1 from {other} {other_alias} where {join()}) order by {_order(alias, key)}")
            return [dict(zip(cols, r)) for r in _fetch(con, sql)]

        added = rows("n", "_cf_new", "_cf_old", new_serve)
        removed = rows("o", "_cf_old", "_cf_new", old_serve)

        changed: list[dict] = []
        if compared:
            flags = [f"({side('o', c)} is distinct from {side('n', c)})" for c in compared]
            sel = ", ".join(
                [*(f"o.{quote_ident(c)}" for c in old_serve), *(f"n.{quote_ident(c)}" for c in new_serve), *flags])
            sql = (f"select {sel} from _cf_old o join _cf_new n on {join()} where {' or '.join(flags)} "
                   f"order by {_order('n', key)}")
            no, nn = len(old_serve), len(new_serve)
            for r in _fetch(con, sql):
                before = dict(zip(old_serve, r[:no]))
                after = dict(zip(new_serve, r[no:no + nn]))
                differ = [c for c, flag in zip(compared, r[no + nn:]) if flag]
                changed.append({"key": {k: after[k] for k in key}, "columns": differ, "before": before, "after": after})
        return ChangeSet(primary_key=key, columns=new_serve, added=added, changed=changed, removed=removed,
                         columns_added=new_only, columns_removed=old_only)
    finally:
        _drop(con)


def count_changes(
    old: str | Path | None,
    new: str | Path | None,
    primary_key: Iterable[str],
    *,
    exclude: Iterable[str] = (),
) -> dict:
    """Only the counts of :func:`diff` (no rows are materialised)."""
    if old is None and new is None:
        return {"added": 0, "changed": 0, "removed": 0}
    con = cursor()
    try:
        key, _, _, _, side, join, compared, _, _ = _setup(con, old, new, primary_key, exclude)
        added = _fetch(con, "select count(*) from _cf_new n where not exists"
                            f" (select 1 from _cf_old o where {join()})")[0][0]
        removed = _fetch(con, "select count(*) from _cf_old o where not exists"
                              f" (select 1 from _cf_new n where {join()})")[0][0]
        changed = 0
        if compared:
            cond = " or ".join(f"({side('o', c)} is distinct from {side('n', c)})" for c in compared)
            changed = _fetch(con, f"select count(*) from _cf_old o join _cf_new n on {join()} where {cond}")[0][0]
        return {"added": int(added), "changed": int(changed), "removed": int(removed)}
    finally:
        _drop(con)


# -- versions of the published store -------------------------------------------------------------


def data_file(store: PublishedStore, version: dict) -> Path:
    """The Parquet data file of a version row of the index."""
    files = version.get("files") or {}
    entry = files.get("parquet")
    if entry is None:
        entry = next((f for f in files.values() if str(f.get("path", "")).endswith(".parquet")), None)
    if entry is None:
        raise ChangeFeedError(f"version {version.get('version')} of {version.get('dataset')} has no Parquet file")
    return store.path(version["path"]) / entry["path"]


def slice_file(store: PublishedStore, dataset: str, version: int, unit_code: str) -> Path | None:
    """The unit's slice file in a version, or None when that version has no slice for the unit."""
    for s in store.slices(dataset, version):
        if s["unit_code"] == unit_code:
            return store.path(s["path"])
    return None


def diff_versions(
    store: PublishedStore,
    dataset: str,
    from_version: int,
    to_version: int | None = None,
    *,
    unit_code: str | None = None,
    primary_key: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
) -> ChangeSet:
    """Diff two published versions of ``dataset`` (whole data, or one unit's Su Online slices).

    ``to_version`` defaults to the current version; ``primary_key`` defaults to the dataset's
    ``meta.catalog.primary_key`` (or the version's Table Schema ``primaryKey``).
    """
    versions = {v["version"]: v for v in store.versions(dataset)}
    entry = store.dataset(dataset)
    if entry is None or not versions:
        raise ChangeFeedError(f"unknown dataset {dataset!r}")
    if to_version is None:
        to_version = entry["current_version"]
    for v in (from_version, to_version):
        if v not in versions:
            raise ChangeFeedError(f"{dataset} has no version {v}")
    if primary_key is None:
        primary_key = primary_key_of(entry, versions[to_version])
    if unit_code is None:
        old, new = data_file(store, versions[from_version]), data_file(store, versions[to_version])
    else:
        old = slice_file(store, dataset, from_version, unit_code)
        new = slice_file(store, dataset, to_version, unit_code)
    return diff(old, new, primary_key, exclude=exclude)


def primary_key_of(entry: dict, version: dict | None = None) -> list[str]:
    """A dataset's primary key: its catalog meta, else its published Table Schema."""
    meta = entry.get("meta") or {}
    for src in (meta.get("catalog") or {}, meta):
        pk = src.get("primary_key")
        if pk:
            return [pk] if isinstance(pk, str) else list(pk)
    schema = (version or {}).get("schema") or {}
    pk = schema.get("primaryKey")
    if pk:
        return [pk] if isinstance(pk, str) else list(pk)
    return []
