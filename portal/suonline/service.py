"""What a unit receives: its deliveries, read from the published store (no HTTP here).

A *delivery* is one Su Online dataset's current version as cut for one unit: the slice file written by
:func:`sudata.slicing.write_slices`, its row count and checksum, the previous delivered version and the
columns withheld by :mod:`portal.suonline.guard`. The routes and the workbook are built on it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path


from portal import changefeed
from portal.changefeed import cursor
from portal.suonline.guard import id_number_columns
from sudata import units
from sudata.publish import neutralise_formula
from sudata.slicing import SCOPE_COLUMNS
from sudata.vocabulary import OPEN_TYPE_LABELS  # noqa: F401 (used by the routes and the workbook)
from sudata.sql import quote_ident, quote_literal
from sudata.store import PublishedStore

CST = dt.timezone(dt.timedelta(hours=8), "CST")  # China Standard Time (no daylight saving)


def catalog_meta(dataset: dict) -> dict:
    meta = dataset.get("meta") or {}
    return meta.get("catalog") or {}


def is_suonline(dataset: dict) -> bool:
    meta = dataset.get("meta") or {}
    flag = catalog_meta(dataset).get("su_online", meta.get("su_online", False))
    return flag is True or str(flag).lower() in ("true", "1", "yes")


def scope_column_of(dataset: dict) -> str | None:
    return dataset.get("scope_column") or catalog_meta(dataset).get("scope_column")


def column_titles(dataset: dict) -> dict[str, str]:
    """Column name → Chinese title, from the catalog's column metadata."""
    out: dict[str, str] = {}
    for c in dataset.get("columns") or []:
        if isinstance(c, dict) and c.get("name"):
            out[c["name"]] = c.get("title") or c.get("description") or c["name"]
    return out


def to_local(ts: str | None) -> dt.datetime | None:
    if not ts:
        return None
    t = dt.datetime.fromisoformat(ts)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(CST)


def jsonable(v):
    """A DuckDB value as JSON (dates ISO 8601, decimals as numbers, non-finite floats null)."""
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Decimal):
        if not v.is_finite():
            return None
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return str(v)


def json_row(row: dict) -> dict:
    return {k: jsonable(v) for k, v in row.items()}


@dataclass
class Delivery:
    dataset: dict
    unit: units.Unit
    version: dict                       # the current version's index row
    slice: dict | None                  # the unit's suonline_slices row (None: no slice written)
    path: Path | None                   # its Parquet file
    primary_key: list[str]
    withheld: tuple[str, ...]           # columns refused by the ID-number guard
    previous_version: int | None        # the last earlier version that carried Su Online slices
    previous_path: Path | None = None
    previous_withheld: tuple[str, ...] = ()
    _columns: list[tuple[str, str]] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.dataset["name"]

    @property
    def row_count(self) -> int:
        return int(self.slice["row_count"]) if self.slice else 0

    @property
    def sha256(self) -> str | None:
        return self.slice["sha256"] if self.slice else None

    @property
    def size(self) -> int | None:
        return self.path.stat().st_size if self.path and self.path.exists() else None

    def _sql(self) -> str:
        """The served rows in key order (withheld columns left out)."""
        src = f"read_parquet({quote_literal(self.path.as_posix())})"
        star = f"* exclude ({', '.join(quote_ident(c) for c in self.withheld)})" if self.withheld else "*"
        order = ", ".join(quote_ident(k) for k in self.primary_key) or "all"
        return f"select {star} from {src} order by {order}"

    def _run(self, sql: str, fetch):
        con = cursor()
        try:
            cur = con.execute(sql)
            if self._columns is None:
                self._columns = [(d[0], str(d[1])) for d in cur.description]
            return fetch(cur)
        finally:
            con.close()

    def columns(self) -> list[tuple[str, str]]:
        """(name, type) of the served columns (withheld ones removed)."""
        if self._columns is None:
            if self.path is not None:
                self._run(self._sql() + " limit 0", lambda cur: None)
            else:
                self._columns = [(c["name"], c.get("type") or "VARCHAR") for c in self.dataset.get("columns") or []
                                 if isinstance(c, dict) and c.get("name") and c["name"] not in self.withheld]
        return self._columns

    def fields(self) -> list[dict]:
        titles = column_titles(self.dataset)
        return [{"id": n, "type": t, "title": titles.get(n, n)} for n, t in self.columns()]

    def records(self, limit: int | None = None, offset: int = 0) -> list[dict]:
        """Served rows as dicts, in key order, optionally one page of them."""
        if self.path is None:
            return []
        sql = self._sql() + (f" limit {int(limit)} offset {int(offset)}" if limit is not None else "")

        def fetch(cur):
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

        return self._run(sql, fetch)

    def iter_batches(self, size: int = 5000):
        """The served rows as tuples, in key order, in batches (for the workbook)."""
        if self.path is None:
            return
        con = cursor()
        try:
            cur = con.execute(self._sql())
            if self._columns is None:
                self._columns = [(d[0], str(d[1])) for d in cur.description]
            while batch := cur.fetchmany(size):
                yield batch
        finally:
            con.close()

    def changes_since_previous(self) -> dict | None:
        """Counts added / changed / removed since the previous delivered version (None: first delivery,
        or no change feed possible because the dataset has no usable primary key)."""
        if self.previous_version is None or not self.primary_key:
            return None
        try:
            return dict(_count_changes(
                str(self.previous_path) if self.previous_path else None,
                str(self.path) if self.path else None,
                tuple(self.primary_key), tuple(sorted(set(self.withheld) | set(self.previous_withheld))),
            ))
        except changefeed.ChangeFeedError:
            return None


@lru_cache(maxsize=4096)
def _count_changes(old: str | None, new: str | None, key: tuple[str, ...], exclude: tuple[str, ...]) -> dict:
    # Keyed by immutable version files, so the cache never goes stale.
    return changefeed.count_changes(old, new, list(key), exclude=exclude)


_WITHHELD: dict[tuple, tuple[str, ...]] = {}


class SuOnline:
    """Deliveries read from one published store. Meant to live for one request: index reads are cached."""

    def __init__(self, store: PublishedStore):
        self.store = store
        self._slices: dict[tuple[str, int], list[dict]] = {}
        self._versions: dict[str, list[dict]] = {}

    def _slice_rows(self, name: str, version: int) -> list[dict]:
        if (name, version) not in self._slices:
            self._slices[(name, version)] = self.store.slices(name, version)
        return self._slices[(name, version)]

    def _version_rows(self, name: str) -> list[dict]:
        if name not in self._versions:
            self._versions[name] = self.store.versions(name)
        return self._versions[name]

    def datasets(self) -> list[dict]:
        """Datasets delivered to Su Online (open, conditional and closed alike), by name."""
        return [
            d for d in self.store.datasets(include_closed=True)
            if is_suonline(d) and d.get("current_version") is not None and scope_column_of(d) in SCOPE_COLUMNS
        ]

    def dataset(self, name: str) -> dict | None:
        d = self.store.dataset(name)
        if d is None or not is_suonline(d) or d.get("current_version") is None or scope_column_of(d) not in SCOPE_COLUMNS:
            return None
        return d

    def version(self, name: str, version: int) -> dict | None:
        return next((v for v in self._version_rows(name) if v["version"] == version), None)

    def withheld(self, name: str, version: int) -> tuple[str, ...]:
        """Columns of this version refused by the ID-number guard (scanned once per version)."""
        rows = self._slice_rows(name, version)
        key = (str(self.store.root), name, version, "".join(s["sha256"] for s in rows))
        if key not in _WITHHELD:
            if len(_WITHHELD) > 4096:
                _WITHHELD.clear()
            # District slices hold every row their streets hold (see sudata.slicing): scanning them suffices.
            scan = [s for s in rows if s["unit_level"] == units.DISTRICT] or rows
            _WITHHELD[key] = id_number_columns(tuple(sorted(str(self.store.path(s["path"])) for s in scan)))
        return _WITHHELD[key]

    def slice_path(self, name: str, version: int, unit_code: str) -> tuple[dict | None, Path | None]:
        for s in self._slice_rows(name, version):
            if s["unit_code"] == unit_code:
                return s, self.store.path(s["path"])
        return None, None

    def delivery(self, dataset: dict, unit: units.Unit) -> Delivery:
        name = dataset["name"]
        current = self.version(name, dataset["current_version"])
        if current is None:
            raise LookupError(f"{name}: current version {dataset['current_version']} is not in the index")
        sl, path = self.slice_path(name, current["version"], unit.code)
        previous = None
        for v in sorted((v["version"] for v in self._version_rows(name)), reverse=True):
            if v < current["version"] and self._slice_rows(name, v):
                previous = v
                break
        prev_path = self.slice_path(name, previous, unit.code)[1] if previous is not None else None
        return Delivery(
            dataset=dataset, unit=unit, version=current, slice=sl, path=path,
            primary_key=changefeed.primary_key_of(dataset, current),
            withheld=self.withheld(name, current["version"]),
            previous_version=previous, previous_path=prev_path,
            previous_withheld=self.withheld(name, previous) if previous is not None else (),
        )

    def deliveries(self, unit: units.Unit) -> list[Delivery]:
        return [self.delivery(d, unit) for d in self.datasets()]

    def changes(self, delivery: Delivery, since: int) -> tuple[changefeed.ChangeSet, list[str]]:
        """Rows added / changed / removed in the unit's slice from version ``since`` to the current one,
        and the columns left out (withheld in either version)."""
        name = delivery.name
        _, old = self.slice_path(name, since, delivery.unit.code)
        exclude = sorted(set(delivery.withheld) | set(self.withheld(name, since)))
        return changefeed.diff(old, delivery.path, delivery.primary_key, exclude=exclude), exclude


def arrived_tonight(deliveries: list[Delivery]) -> tuple[dt.datetime | None, set[str]]:
    """The latest delivery time and the datasets that arrived with it (same run, else same night)."""
    if not deliveries:
        return None, set()
    latest = max(deliveries, key=lambda d: (d.version["published_at"], d.version["version"]))
    latest_at = to_local(latest.version["published_at"])
    run = latest.version.get("run_id")
    arrived = set()
    for d in deliveries:
        if run and d.version.get("run_id") == run:
            arrived.add(d.name)
        elif (at := to_local(d.version["published_at"])) and latest_at and (latest_at - at) < dt.timedelta(hours=12):
            arrived.add(d.name)
    return latest_at, arrived


_ILLEGAL_XML = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def excel_value(v):
    """A DuckDB value as something openpyxl writes faithfully."""
    if v is None or isinstance(v, (bool, int, Decimal)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dt.datetime):
        return v.astimezone(CST).replace(tzinfo=None) if v.tzinfo else v
    if isinstance(v, (dt.date, dt.time)):
        return v.replace(tzinfo=None) if isinstance(v, dt.time) and v.tzinfo else v
    if isinstance(v, str):  # text that would start a formula is quoted (OWASP), numbers stay numbers
        return neutralise_formula(_ILLEGAL_XML.sub("", v))[:32767]
    if isinstance(v, (list, dict, tuple)):
        return json.dumps(jsonable(v), ensure_ascii=False)[:32767]
    return str(jsonable(v))[:32767]
