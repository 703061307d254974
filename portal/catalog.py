"""The portal's in-memory view of the published catalog.

At startup the portal reads ``catalog.sqlite`` once (read-only, in one read transaction) and builds a
:class:`Snapshot`: every visible dataset (closed ones are never loaded), its current version in full
and a summary of every version, the organisations and tags, and the search structures:

* a full-text inverted index: token → (dataset positions, BM25 weights) as NumPy arrays, Chinese
  indexed as jieba's words and single characters (see :mod:`portal.text`);
* per filter/facet field, the dataset positions of each value and a (position, value code) list, so
  that a filter is a boolean mask and a facet count is one ``bincount``;
* sort keys as arrays (rank of id, name and title; modification and creation times).

Harvested entries (``harvested``, written by :mod:`sudata.harvest`) and directory entries
(``directory_entries``, :mod:`sudata.directory`) are datasets of the snapshot too, with no version or file
here: a harvested entry's resources link to its source (``harvest``), a directory entry has its opening
dates (``directory``). ``entry_type`` (dataset | harvested | directory) tells them apart in filters.

A request asks :class:`CatalogIndex` for the current snapshot. That is a stat of the index file and
``pragma data_version`` on a long-lived read-only connection (microseconds); only when the pipeline
has committed something since is a new snapshot built, by the one request that noticed, while
concurrent requests keep using the previous snapshot. Snapshots are immutable once built.
"""

from __future__ import annotations

import gc
import math
import os
import sqlite3
import threading
import uuid
from collections import Counter, defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from sudata.store import PublishedStore
from sudata.vocabulary import DIMENSION_LABELS, DIMENSIONS, GRADE_LABELS, OPEN_TYPE_LABELS  # noqa: F401 (re-exported)

from .jsonutil import loads as _json_loads
from .text import index_tokens

VISIBLE_OPEN_TYPES = ("unconditional", "conditional")
# format key in versions.files → (CKAN format name, media type, download extension)
DATA_FORMATS = {
    "csv": ("CSV", "text/csv", "csv"),
    "parquet": ("Parquet", "application/vnd.apache.parquet", "parquet"),
    "json": ("JSON", "application/json", "json"),
}
FACET_FIELDS = (
    "organization", "owner_org", "tags", "res_format", "open_type", "domain",
    "update_frequency", "security_grade", "name", "id", "harvest_source", "entry_type", "groups",
)
_NS = uuid.UUID("6f1b3c8e-5d0a-4e58-9a57-2f6a3c1d9b40")
# The domains (数据领域) are the catalog's CKAN groups; a group's name is URL-safe, its title the domain.
DOMAIN_GROUPS = {
    "信用服务": "credit-services", "市场监管": "market-regulation", "交通出行": "transport", "社会民生": "livelihood",
    "医疗卫生": "health", "教育文化": "education-culture", "文化旅游": "culture-tourism", "就业创业": "employment",
    "政务服务": "government-services", "生态环境": "environment", "城建住房": "housing", "公共安全": "public-safety",
    "农业农村": "agriculture", "财税金融": "finance", "资源能源": "resources-energy", "气象服务": "weather",
    "地理空间": "geospatial", "科技创新": "science-technology", "安全生产": "work-safety",
    "社保就业": "social-security", "法律服务": "legal-services", "机构团体": "organisations",
}


def group_name(domain: str) -> str:
    """A domain's CKAN group name (a digest for a domain outside the vocabulary)."""
    return DOMAIN_GROUPS.get(domain) or "domain-" + stable_id("group", domain)[:8]

def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(parts)))


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: an offset pushes it past year 9999
        return None


def ckan_time(value: str | None) -> str | None:
    """CKAN's timestamp form: naive UTC with microseconds."""
    dt = parse_time(value)
    return dt.replace(tzinfo=None).isoformat(timespec="microseconds") if dt else None


class Version:
    """One published version. ``files`` and ``dimensions`` are decoded on first use: the catalog
    holds every version of every dataset, and most are never downloaded."""

    __slots__ = ("version", "published_at", "row_count", "path", "run_id", "drop_date", "passed", "score",
                 "_files", "_dimensions")

    def __init__(self, version, published_at, row_count, path, files, run_id, drop_date, passed, score, dimensions):
        self.version = version
        self.published_at = published_at
        self.row_count = row_count
        self.path = path
        self.run_id = run_id
        self.drop_date = drop_date
        self.passed = passed
        self.score = score
        self._files = files
        self._dimensions = dimensions

    @property
    def files(self) -> dict:
        if not isinstance(self._files, dict):
            self._files = _loads(self._files, {}) or {}
        return self._files

    @property
    def dimensions(self) -> dict:
        if not isinstance(self._dimensions, dict):
            raw = _loads(self._dimensions, {}) or {}
            self._dimensions = {k: v for k, v in raw.items() if isinstance(v, dict)}
        return self._dimensions

    def file(self, fmt: str) -> dict | None:
        f = self.files.get(fmt)
        return f if isinstance(f, dict) and f.get("path") else None


@dataclass(eq=False)
class Dataset:
    pos: int
    id: str
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
    created_at: str
    updated_at: str
    current_version: int
    current: Version
    quality_raw: object                    # the current version's quality report / Table Schema,
    schema_raw: object                     # decoded on first use (see the properties below)
    versions: list[Version]
    formats: list[str]                     # keys of DATA_FORMATS present in the current version
    resource_ids: dict[str, str]           # format key → resource id
    org_id: str
    cache: dict = field(default_factory=dict)
    harvest: dict | None = None            # a harvested entry's provenance and remote resources
    directory: dict | None = None          # a directory entry's code and opening dates (sudata.directory)

    @property
    def conditional(self) -> bool:
        return self.open_type == "conditional"

    @property
    def quality(self) -> dict:
        if not isinstance(self.quality_raw, dict):
            self.quality_raw = _loads(self.quality_raw, {}) or {}
        return self.quality_raw

    @property
    def schema(self) -> dict:
        if not isinstance(self.schema_raw, dict):
            self.schema_raw = _loads(self.schema_raw, {}) or {}
        return self.schema_raw

    def version(self, n: int) -> Version | None:
        for v in self.versions:
            if v.version == n:
                return v
        return None


@dataclass
class Organization:
    id: str
    name: str
    title: str
    package_count: int
    created: str


@dataclass
class FieldIndex:
    values: list[str]                       # value code → display value
    postings: dict[str, np.ndarray]         # normalised value → sorted dataset positions
    doc_pos: np.ndarray                     # one entry per (dataset, value) pair
    codes: np.ndarray


@dataclass
class Snapshot:
    datasets: list[Dataset]
    by_key: dict[str, Dataset]              # name and id
    resources: dict[str, tuple[Dataset, str]]
    organizations: list[Organization]
    org_by_key: dict[str, Organization]
    tags: list[tuple[str, int]]
    text: dict[str, tuple[np.ndarray, np.ndarray]]
    fields: dict[str, FieldIndex]
    sort_keys: dict[str, np.ndarray]
    loaded_at: str
    title_text: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)   # titles only
    generation: int = 0
    root: Path | None = None
    cache: dict = field(default_factory=dict)
    nights: dict = field(default_factory=dict)  # PublishedStore.nights of the open catalog

    @property
    def size(self) -> int:
        return len(self.datasets)

    def get(self, key: str | None) -> Dataset | None:
        return self.by_key.get(key) if key else None

    def license(self, d: Dataset) -> dict:
        """The dataset's licence: the model's meta if it names one, else the first licence of the
        current version's ``datapackage.json`` (read once, on first use)."""
        lic = d.cache.get("license")
        if lic is not None:
            return lic
        catalog = d.meta.get("catalog") if isinstance(d.meta.get("catalog"), dict) else {}
        named = catalog.get("license_id") or d.meta.get("license_id")
        lic = {"id": "notspecified", "title": "License not specified", "url": ""}
        if named:
            lic = {"id": str(named), "title": str(catalog.get("license_title") or named),
                   "url": str(catalog.get("license_url") or "")}
        elif self.root is not None:
            f = d.current.file("datapackage")
            path = Path(self.root) / d.current.path / (f["path"] if f else "datapackage.json")
            try:
                licenses = _loads(path.read_bytes(), {}).get("licenses") or []
            except (OSError, AttributeError):
                licenses = []
            first = licenses[0] if licenses and isinstance(licenses[0], dict) else None
            if first and first.get("name"):
                lic = {"id": str(first["name"]), "title": str(first.get("title") or first["name"]),
                       "url": str(first.get("path") or "")}
        d.cache["license"] = lic
        return lic


# -- building a snapshot --------------------------------------------------------------------------
def _loads(value, default):
    if value is None:
        return default
    if isinstance(value, (dict, list)):
        return value
    try:
        return _json_loads(value)
    except (TypeError, ValueError):
        return default


def _float(value) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _version_from_row(r) -> Version:
    passed = r["passed"]
    return Version(
        version=int(r["version"]), published_at=r["published_at"], row_count=int(r["row_count"] or 0),
        path=r["path"], files=r["files"], run_id=r["run_id"], drop_date=r["drop_date"],
        passed=None if passed is None else bool(passed), score=_float(r["score"]), dimensions=r["dimensions"],
    )


def load_snapshot(store: PublishedStore, generation: int = 0) -> Snapshot:
    if not store.exists():
        return build_snapshot([], {}, generation, store.root)
    with closing(store.connect(readonly=True)) as con:
        con.execute("begin")  # one consistent read of the index
        rows = con.execute(
            "select d.*, v.schema as v_schema, v.quality as v_quality from datasets d"
            " join versions v on v.dataset = d.name and v.version = d.current_version"
            " where d.open_type in ('unconditional', 'conditional') order by d.name"
        ).fetchall()
        versions: dict[str, list[Version]] = defaultdict(list)
        for r in con.execute(
            "select v.dataset, v.version, v.published_at, v.row_count, v.path, v.files, v.run_id, v.drop_date,"
            " json_extract(v.quality, '$.passed') as passed, json_extract(v.quality, '$.score') as score,"
            " json_extract(v.quality, '$.dimensions') as dimensions"
            " from versions v join datasets d on d.name = v.dataset"
            " where d.open_type in ('unconditional', 'conditional') order by v.dataset, v.version"
        ):
            versions[r["dataset"]].append(_version_from_row(r))
        harvested = []
        if con.execute("select 1 from sqlite_master where type = 'table' and name = 'harvested'").fetchone():
            harvested = con.execute(
                "select * from harvested where state = 'active' and open_type in ('unconditional', 'conditional')"
                " order by name").fetchall()
        directory = []
        if con.execute("select 1 from sqlite_master where type = 'table' and name = 'directory_entries'").fetchone():
            directory = con.execute(
                "select * from directory_entries where open_type in ('unconditional', 'conditional')"
                " order by code").fetchall()
        nights = store.nights(include_closed=False, con=con)
        con.execute("commit")
    snap = build_snapshot(rows, versions, generation, store.root, harvested, directory)
    snap.nights = nights
    return snap


def directory_dataset(r, pos: int) -> Dataset:
    """A directory entry: catalogued here, its data served elsewhere or planned for opening."""
    stub = Version(1, r["updated_at"], 0, "", {}, None, None, None, None, {})
    name = "dir-" + r["code"].lower()
    return Dataset(
        pos=pos, id=stable_id("directory", r["code"]), name=name, title=r["title"], title_en=r["title_en"] or "",
        description=r["description"] or "", department=r["department"],
        department_name=r["department_name"], domain=r["domain"] or "", open_type=r["open_type"],
        security_grade="", update_frequency=r["update_frequency"] or "", scope_column=None,
        tags=[str(t) for t in _loads(r["tags"], []) or []], columns=[], meta={}, created_at=r["created_at"],
        updated_at=r["updated_at"], current_version=1, current=stub, quality_raw={}, schema_raw={},
        versions=[stub], formats=[], resource_ids={}, org_id=stable_id("organization", r["department"]),
        directory={"code": r["code"], "planned_open_date": r["planned_open_date"],
                   "opened_date": r["opened_date"], "dataset": r["dataset"]},
    )


def harvested_dataset(r, pos: int) -> Dataset:
    """A harvested entry (see sudata.harvest.store): no version or file here, its resources at the source."""
    license_ = _loads(r["license"], {}) or {}
    catalog = {k: license_.get(k[8:]) for k in ("license_id", "license_title", "license_url") if license_.get(k[8:])}
    if not catalog.get("license_id") and catalog.get("license_url"):
        catalog["license_id"] = catalog["license_url"]
    stub = Version(1, r["updated_at"], 0, "", {}, None, None, None, None, {})
    return Dataset(
        pos=pos, id=r["id"], name=r["name"], title=r["title"], title_en="", description=r["description"] or "",
        department=r["organization"], department_name=r["organization_title"] or r["organization"],
        domain=r["domain"] or "", open_type=r["open_type"], security_grade="", update_frequency=r["update_frequency"] or "",
        scope_column=None, tags=[str(t) for t in _loads(r["tags"], []) or []], columns=[],
        meta={"catalog": catalog} if catalog else {}, created_at=r["created_at"], updated_at=r["updated_at"],
        current_version=1, current=stub, quality_raw={}, schema_raw={}, versions=[stub], formats=[],
        resource_ids={}, org_id=stable_id("organization", r["organization"]),
        harvest={
            "source": r["source"], "remote_id": r["remote_id"], "original_url": r["original_url"],
            "remote_modified": r["remote_modified"], "harvested_at": r["harvested_at"],
            "publisher": r["publisher"] or "",
            "resources": [x for x in _loads(r["resources"], []) or [] if isinstance(x, dict)],
        },
    )


def build_snapshot(rows, versions: dict[str, list[Version]], generation: int = 0,
                   root: Path | None = None, harvested=(), directory=()) -> Snapshot:
    datasets: list[Dataset] = []
    org_ids: dict[str, str] = {}
    memo: dict = {}

    def shared(raw, default):
        """Decode JSON text once per distinct text; the decoded objects are read-only and shared."""
        if not isinstance(raw, str):
            return _loads(raw, default) or default
        obj = memo.get(raw)
        if obj is None:
            obj = memo[raw] = _loads(raw, default) or default
        return obj

    def shared_list(raw, decode):
        key = ("list", raw)
        obj = memo.get(key)
        if obj is None:
            obj = memo[key] = decode(raw)
        return obj

    for r in rows:
        vs = versions.get(r["name"]) or []
        current = next((v for v in vs if v.version == r["current_version"]), None)
        if current is None:
            continue
        meta = shared(r["meta"], {})
        formats = [k for k in DATA_FORMATS if current.file(k)]
        name = r["name"]
        department = r["department"] or "unknown"
        if department not in org_ids:
            org_ids[department] = stable_id("organization", department)
        datasets.append(Dataset(
            pos=len(datasets), id=stable_id("dataset", name), name=name, title=r["title"] or name,
            title_en=r["title_en"] or "", description=r["description"] or "",
            department=department, department_name=r["department_name"] or r["department"] or "",
            domain=r["domain"] or "", open_type=r["open_type"], security_grade=r["security_grade"] or "",
            update_frequency=r["update_frequency"] or "", scope_column=r["scope_column"],
            tags=shared_list(r["tags"], lambda raw: [str(t) for t in (_loads(raw, []) or []) if str(t).strip()]),
            columns=shared_list(r["columns"], lambda raw: [
                c for c in (_loads(raw, []) or []) if isinstance(c, dict) and c.get("name")]),
            meta=meta, created_at=r["created_at"], updated_at=r["updated_at"],
            current_version=int(r["current_version"]), current=current,
            quality_raw=r["v_quality"], schema_raw=r["v_schema"],
            versions=vs, formats=formats, resource_ids={k: stable_id("resource", name, k) for k in formats},
            org_id=org_ids[department],
        ))
    own = {d.name for d in datasets}
    for r in harvested:
        if r["name"] not in own:
            datasets.append(harvested_dataset(r, len(datasets)))
    listed = {d.name for d in datasets}
    for r in directory:
        if not (r["dataset"] and r["dataset"] in listed):   # opened here: the dataset itself is listed
            datasets.append(directory_dataset(r, len(datasets)))
    return _index(datasets, generation, root)


def _index(datasets: list[Dataset], generation: int, root: Path | None = None) -> Snapshot:
    n = len(datasets)
    by_key: dict[str, Dataset] = {}
    resources: dict[str, tuple[Dataset, str]] = {}
    for d in datasets:
        by_key[d.name] = d
        by_key[d.id] = d
        for fmt, rid in d.resource_ids.items():
            resources[rid] = (d, fmt)

    # organisations (only those with a visible dataset) and tags
    orgs: dict[str, Organization] = {}
    tag_counts: Counter = Counter()
    for d in datasets:
        o = orgs.get(d.department)
        if o is None:
            o = orgs[d.department] = Organization(
                id=d.org_id, name=d.department, title=d.department_name or d.department,
                package_count=0, created=d.created_at)
        o.package_count += 1
        o.created = min(o.created, d.created_at)
        tag_counts.update(set(d.tags))
    organizations = sorted(orgs.values(), key=lambda o: o.name)
    org_by_key = {k: o for o in organizations for k in (o.id, o.name)}

    # full-text postings (tokenisation memoised: column names, departments and domains repeat a lot)
    memo: dict[str, Counter] = {}

    def tokens(text: str) -> Counter:
        c = memo.get(text)
        if c is None:
            c = memo[text] = index_tokens(text)
        return c

    # BM25 (k1 1.2, b 0.75) over the fields' weighted term frequencies, precomputed per posting
    post_pos: dict[str, list[int]] = defaultdict(list)
    post_w: dict[str, list[float]] = defaultdict(list)
    title_pos: dict[str, list[int]] = defaultdict(list)
    doc_len = np.zeros(n, dtype=np.float64)
    log = math.log
    for d in datasets:
        acc: dict[str, float] = {}
        fields_text = (
            (d.title, 6.0), (d.title_en, 4.0), (d.name, 4.0), (" ".join(d.tags), 3.0), (d.department_name, 2.0),
            (d.domain, 2.0), (" ".join(c["name"] for c in d.columns), 2.0),
            (" ".join(str(c.get("title") or "") for c in d.columns), 2.0), (d.description, 1.0),
            (" ".join(str(c.get("description") or "") for c in d.columns), 0.5),
        )
        for text, weight in fields_text:
            if not text:
                continue
            for tok, cnt in tokens(text).items():
                acc[tok] = acc.get(tok, 0.0) + weight * (1.0 + log(cnt))
        pos = d.pos
        for tok in {*tokens(d.title), *tokens(d.title_en)} if d.title or d.title_en else ():
            title_pos[tok].append(pos)
        doc_len[pos] = sum(acc.values())
        for tok, w in acc.items():
            post_pos[tok].append(pos)
            post_w[tok].append(w)
    memo.clear()
    k1, b = 1.2, 0.75
    norm = k1 * (1.0 - b + b * doc_len / (doc_len.mean() or 1.0)) if n else doc_len
    text: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for tok, plist in post_pos.items():
        idf = math.log(1.0 + (n - len(plist) + 0.5) / (len(plist) + 0.5))
        pos_arr = np.asarray(plist, dtype=np.int32)
        tf = np.asarray(post_w[tok], dtype=np.float64)
        text[tok] = (pos_arr, idf * tf * (k1 + 1.0) / (tf + norm[pos_arr]))
    del post_pos, post_w
    # title:… queries match titles only, ranked by the full-text weights of the same tokens
    title_text: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for tok, plist in title_pos.items():
        full_pos, full_w = text[tok]
        pos_arr = np.asarray(plist, dtype=np.int32)
        title_text[tok] = (pos_arr, full_w[np.searchsorted(full_pos, pos_arr)])
    del title_pos

    # filter / facet fields
    extractors = {
        "organization": lambda d: (d.department,), "owner_org": lambda d: (d.org_id,), "tags": lambda d: d.tags,
        "res_format": lambda d: [DATA_FORMATS[f][0] for f in d.formats], "open_type": lambda d: (d.open_type,),
        "domain": lambda d: (d.domain,) if d.domain else (),
        "update_frequency": lambda d: (d.update_frequency,) if d.update_frequency else (),
        "security_grade": lambda d: (d.security_grade,) if d.security_grade else (),
        "name": lambda d: (d.name,), "id": lambda d: (d.id,),
        "harvest_source": lambda d: (d.harvest["source"],) if d.harvest else (),
        "entry_type": lambda d: ("harvested",) if d.harvest else ("directory",) if d.directory else ("dataset",),
        "groups": lambda d: (group_name(d.domain),) if d.domain else (),
    }

    fields: dict[str, FieldIndex] = {}
    for fname in FACET_FIELDS:
        code_of: dict[str, int] = {}
        values: list[str] = []
        doc_pos: list[int] = []
        codes: list[int] = []
        postings: dict[str, list[int]] = defaultdict(list)
        values_of = extractors[fname]
        for d in datasets:
            vals = values_of(d)
            for v in (dict.fromkeys(vals) if len(vals) > 1 else vals):
                c = code_of.get(v)
                if c is None:
                    c = code_of[v] = len(values)
                    values.append(v)
                doc_pos.append(d.pos)
                codes.append(c)
                plist = postings[v.casefold()]
                if not plist or plist[-1] != d.pos:
                    plist.append(d.pos)
        fields[fname] = FieldIndex(
            values=values, postings={k: np.asarray(v, dtype=np.int32) for k, v in postings.items()},
            doc_pos=np.asarray(doc_pos, dtype=np.int32), codes=np.asarray(codes, dtype=np.int32))

    def rank(key) -> np.ndarray:
        order = sorted(range(n), key=lambda i: key(datasets[i]))
        r = np.empty(n, dtype=np.int64)
        r[order] = np.arange(n)
        return r

    def ts(value: str) -> float:
        dt = parse_time(value)
        return dt.timestamp() if dt else 0.0

    sort_keys = {
        "metadata_modified": np.asarray([ts(d.updated_at) for d in datasets], dtype=np.float64),
        "metadata_created": np.asarray([ts(d.created_at) for d in datasets], dtype=np.float64),
        "id": rank(lambda d: d.id),
        "name": rank(lambda d: d.name),
        "title_string": rank(lambda d: (d.title, d.name)),
    }
    return Snapshot(
        datasets=datasets, by_key=by_key, resources=resources, organizations=organizations,
        org_by_key=org_by_key, tags=sorted(tag_counts.items()), text=text, title_text=title_text, fields=fields,
        sort_keys=sort_keys, loaded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        generation=generation, root=root,
    )


# -- keeping it current ---------------------------------------------------------------------------
class CatalogIndex:
    """Hands out the current snapshot; rebuilds it when the pipeline has committed to the index."""

    def __init__(self, store: PublishedStore):
        self.store = store
        self._snapshot = build_snapshot([], {})
        self._watch: sqlite3.Connection | None = None
        self._watch_ino: int | None = None
        self._seen: tuple | None = None      # (inode, data_version) the snapshot was built from
        self._watch_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._generation = 0

    @property
    def snapshot(self) -> Snapshot:
        """The last built snapshot, without checking for changes."""
        return self._snapshot

    def _state(self) -> tuple | None:
        try:
            st = os.stat(self.store.index_path)
        except FileNotFoundError:
            return None
        with self._watch_lock:
            if self._watch is None or self._watch_ino != st.st_ino:
                if self._watch is not None:
                    self._watch.close()
                try:
                    self._watch = self._open_watch()
                except sqlite3.Error:
                    self._watch = None
                    return (st.st_ino, None, *self._mtimes(st))
                self._watch_ino = st.st_ino
            try:
                dv = self._watch.execute("pragma data_version").fetchone()[0]
            except sqlite3.Error:
                self._watch.close()
                self._watch = None
                return (st.st_ino, None, *self._mtimes(st))
        return (st.st_ino, dv)

    def _open_watch(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.store.index_path}?mode=ro", uri=True, check_same_thread=False)

    def _mtimes(self, st) -> tuple:
        """Fallback change signal when the index cannot be watched through SQLite."""
        try:
            wst = os.stat(f"{self.store.index_path}-wal")
            # a reader opening the index creates an empty log: only a log with frames is a change
            wal = (wst.st_size, wst.st_mtime_ns) if wst.st_size else None
        except FileNotFoundError:
            wal = None
        return (st.st_mtime_ns, wal)

    def stale(self) -> bool:
        return self._generation == 0 or self._state() != self._seen

    def refresh(self, force: bool = False) -> Snapshot:
        with self._refresh_lock:
            state = self._state()
            if not force and self._generation and state == self._seen:
                return self._snapshot
            self._generation += 1
            snapshot = load_snapshot(self.store, self._generation)
            self._snapshot = snapshot
            self._seen = state
            # The snapshot is millions of long-lived objects without reference cycles: keep them out of
            # the cyclic collector's full passes, which would otherwise stall requests for 100+ ms.
            gc.collect()
            gc.freeze()
            _release_free_memory()
            return snapshot

    def current(self) -> Snapshot:
        """The current snapshot, rebuilt first if the index changed (blocking; for worker threads).
        While another thread is rebuilding, the previous snapshot is returned."""
        if self.stale():
            if self._refresh_lock.locked() and self._generation:
                return self._snapshot
            return self.refresh()
        return self._snapshot

    async def acurrent(self) -> Snapshot:
        """The current snapshot for async handlers: a rebuild runs in a worker thread, and while one
        is running other requests are answered from the previous snapshot."""
        if not self.stale():
            return self._snapshot
        if self._refresh_lock.locked() and self._generation:
            return self._snapshot
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(self.refresh)

    def close(self) -> None:
        with self._watch_lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None


def _release_free_memory() -> None:
    """Hand the memory freed by a rebuild's temporary structures back to the OS (glibc only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass

