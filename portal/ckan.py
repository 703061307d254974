"""CKAN's Action API: ``/api/3/action/<name>`` and ``/api/action/<name>``, GET or POST.

Responses use CKAN's envelope ``{"help", "success", "result"}``; errors carry CKAN's ``__type`` and
status code. Package dictionaries are built once per dataset (and public base URL) and kept as
serialised JSON on the snapshot, so ``package_show`` and ``package_search`` mostly concatenate bytes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from . import datastore as ds
from .auth import request_token
from .catalog import (
    DATA_FORMATS, DIMENSIONS, OPEN_TYPE_LABELS, Dataset, Organization, Snapshot, ckan_time, group_name, stable_id,
)
from .errors import INT64_MAX, ActionError, BadRequest, NotFound, SearchQueryError, ValidationError
from .jsonutil import dumps, parse_json
from .search import SearchQueryError as _QueryError
from .search import search

API_VERSION = 3
try:  # this portal's own release, beside the CKAN API version it implements
    from importlib.metadata import version as _version

    PORTAL_VERSION = _version("sudata-foundation")
except Exception:  # noqa: BLE001 (a checkout that is not installed)
    PORTAL_VERSION = "unknown"
MAX_ROWS = 1000
SITE_TITLE = "苏州公共数据开放平台"
SITE_DESCRIPTION = "Su Data Foundation: the open catalog of Suzhou's public data"


def public_base(request: Request) -> str:
    configured = os.environ.get("SUDATA_PORTAL_URL")
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")


# -- dictionaries ----------------------------------------------------------------------------------
def organization_dict(o: Organization) -> dict:
    return {
        "id": o.id, "name": o.name, "title": o.title, "display_name": o.title, "description": "",
        "image_url": "", "image_display_url": "", "created": ckan_time(o.created), "is_organization": True,
        "approval_status": "approved", "state": "active", "type": "organization",
        "package_count": o.package_count,
    }


def group_dict(domain: str, package_count: int | None = None) -> dict:
    """A domain as a CKAN group."""
    out = {"id": stable_id("group", domain), "name": group_name(domain), "title": domain, "display_name": domain,
           "description": "", "image_display_url": "", "type": "group", "state": "active", "is_organization": False,
           "approval_status": "approved"}
    if package_count is not None:
        out["package_count"] = package_count
    return out


def tag_dict(tag: str) -> dict:
    return {"id": stable_id("tag", tag), "name": tag, "display_name": tag, "state": "active", "vocabulary_id": None}


def resource_dicts(d: Dataset, base: str) -> list[dict]:
    if d.harvest:
        return harvested_resource_dicts(d)
    if d.directory:
        return []
    out = []
    for i, fmt in enumerate(d.formats):
        f = d.current.file(fmt)
        label, media, ext = DATA_FORMATS[fmt]
        out.append({
            "id": d.resource_ids[fmt], "package_id": d.id, "name": f"{d.title} ({label})",
            "description": f"{d.title}，第 {d.current_version} 版，{d.current.row_count} 行（{label}）",
            "format": label, "mimetype": f.get("media_type") or media,
            "url": f"{base}/dataset/{d.name}/download.{ext}", "url_type": None,
            "size": f.get("size"), "hash": f.get("sha256") or "",
            "created": ckan_time(d.created_at), "last_modified": ckan_time(d.current.published_at),
            "metadata_modified": ckan_time(d.current.published_at),
            "datastore_active": fmt == "parquet" or "parquet" in d.formats,
            "position": i, "state": "active", "resource_type": "file", "cache_url": None,
        })
    return out


def harvested_resource_dicts(d: Dataset) -> list[dict]:
    """A harvested entry's resources: where the source serves them."""
    return [{
        "id": stable_id("resource", d.name, str(i)), "package_id": d.id, "name": r.get("name") or r.get("url"),
        "description": "", "format": r.get("format") or "", "mimetype": r.get("media_type") or None,
        "url": r.get("url"), "url_type": None, "size": None, "hash": "", "created": ckan_time(d.created_at),
        "last_modified": None, "metadata_modified": ckan_time(d.updated_at), "datastore_active": False,
        "position": i, "state": "active", "resource_type": None, "cache_url": None,
    } for i, r in enumerate(d.harvest["resources"])]


def harvest_extras(d: Dataset) -> list[dict]:
    """ckanext-harvest's extras on a harvested entry: its source, identifier there and original."""
    h = d.harvest
    pairs = [("entry_type", "harvested"), ("harvested", "true"), ("harvest_source_id", h["source"]), ("guid", h["remote_id"]),
             ("harvest_url", h["original_url"]), ("harvested_at", h["harvested_at"]),
             ("source_metadata_modified", h["remote_modified"] or ""), ("publisher", h["publisher"]),
             ("department", d.department_name), ("domain", d.domain), ("open_type", d.open_type),
             ("open_type_label", OPEN_TYPE_LABELS.get(d.open_type, "")), ("update_frequency", d.update_frequency)]
    return [{"key": k, "value": str(v or "")} for k, v in pairs]


def directory_extras(d: Dataset) -> list[dict]:
    """A directory entry: catalogued, its data not (yet) served here."""
    e = d.directory
    pairs = [("entry_type", "directory"), ("directory_code", e["code"]), ("department", d.department_name),
             ("domain", d.domain), ("open_type", d.open_type), ("open_type_label", OPEN_TYPE_LABELS.get(d.open_type, "")),
             ("update_frequency", d.update_frequency), ("planned_open_date", e["planned_open_date"]),
             ("opened_date", e["opened_date"])]
    return [{"key": k, "value": str(v or "")} for k, v in pairs]


def extras(d: Dataset) -> list[dict]:
    if d.harvest:
        return harvest_extras(d)
    if d.directory:
        return directory_extras(d)
    q = d.quality or {}
    dims = q.get("dimensions") if isinstance(q.get("dimensions"), dict) else {}
    pairs = [
        ("title_zh", d.title), ("title_en", d.title_en), ("department", d.department_name),
        ("domain", d.domain), ("open_type", d.open_type), ("open_type_label", OPEN_TYPE_LABELS.get(d.open_type, "")),
        ("security_grade", d.security_grade), ("update_frequency", d.update_frequency),
        ("current_version", d.current_version), ("row_count", d.current.row_count),
        ("quality_passed", q.get("passed")), ("quality_score", q.get("score")),
    ]
    for dim in DIMENSIONS:
        info = dims.get(dim)
        if isinstance(info, dict):
            pairs.append((f"quality_{dim}", info.get("score")))
    if d.scope_column:
        pairs.append(("scope_column", d.scope_column))
    return [{"key": k, "value": "" if v is None else (json.dumps(v) if isinstance(v, bool) else str(v))}
            for k, v in pairs]


def package_dict(d: Dataset, base: str, org: Organization | None, lic: dict) -> dict:
    resources = resource_dicts(d, base)
    return {
        "id": d.id, "name": d.name, "title": d.title, "notes": d.description, "type": "dataset",
        "state": "active", "private": False, "version": str(d.current_version),
        "url": d.harvest["original_url"] if d.harvest else f"{base}/dataset/{d.name}",
        "author": d.department_name, "author_email": None,
        "maintainer": d.department_name, "maintainer_email": None,
        "license_id": lic["id"], "license_title": lic["title"], "license_url": lic["url"],
        "isopen": d.open_type == "unconditional",
        "metadata_created": ckan_time(d.created_at), "metadata_modified": ckan_time(d.updated_at),
        "owner_org": d.org_id, "organization": organization_dict(org) if org else None,
        "tags": [tag_dict(t) for t in d.tags], "num_tags": len(d.tags),
        "groups": [group_dict(d.domain)] if d.domain else [],
        "resources": resources, "num_resources": len(resources),
        "relationships_as_object": [], "relationships_as_subject": [],
        "extras": extras(d),
    }


def package_json(snap: Snapshot, d: Dataset, base: str) -> bytes:
    key = ("package", base)
    raw = d.cache.get(key)
    if raw is None:
        raw = d.cache[key] = dumps(package_dict(d, base, snap.org_by_key.get(d.department), snap.license(d)))
    return raw


class Raw(bytes):
    """A result that is already serialised JSON."""


# -- parameters ----------------------------------------------------------------------------------
class Params(dict):
    def str(self, name: str, default: str | None = None) -> str | None:
        v = self.get(name, default)
        if v is None:
            return default
        if isinstance(v, list):
            v = v[-1] if v else default
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v)

    def int(self, name: str, default: int, minimum: int | None = 0, maximum: int | None = None) -> int:
        v = self.get(name)
        if v is None or v == "":
            return default
        if isinstance(v, list):
            v = v[-1]
        try:
            if isinstance(v, bool):
                raise ValueError
            if isinstance(v, float) and not v.is_integer():
                raise ValueError
            n = int(v)
        except (TypeError, ValueError):
            raise ValidationError(f"{name}: invalid integer", {name: ["Invalid integer"]}) from None
        if minimum is not None and n < minimum:
            raise ValidationError(f"{name}: must be at least {minimum}", {name: ["Must be a natural number"]})
        if abs(n) > INT64_MAX:
            raise ValidationError(f"{name}: out of range (at most {INT64_MAX})", {name: ["Integer out of range"]})
        if maximum is not None:
            n = min(n, maximum)
        return n

    def bool(self, name: str, default: bool) -> bool:
        v = self.get(name)
        if v is None or v == "":
            return default
        if isinstance(v, bool):
            return v
        s = str(v).strip().lower()
        if s in ("true", "1", "yes", "on", "t", "y"):
            return True
        if s in ("false", "0", "no", "off", "f", "n"):
            return False
        raise ValidationError(f"{name}: invalid boolean", {name: ["Invalid boolean"]})

    def list(self, name: str) -> list[str]:
        v = self.get(name)
        if v is None or v == "":
            return []
        if isinstance(v, str):
            s = v.strip()
            if s.startswith("["):
                try:
                    v = parse_json(s)
                except ValueError:
                    raise ValidationError(f"{name}: invalid JSON list", {name: ["Invalid JSON list"]}) from None
            else:
                return [s]
        if isinstance(v, list):
            out = []
            for item in v:
                if isinstance(item, str) and item.strip().startswith("["):
                    out.extend(Params({name: item}).list(name))
                elif isinstance(item, (str, int, float)):
                    out.append(str(item))
                else:
                    raise ValidationError(f"{name}: invalid list", {name: ["Invalid list"]})
            return out
        raise ValidationError(f"{name}: invalid list", {name: ["Invalid list"]})


@dataclass
class Context:
    request: Request
    snap: Snapshot
    base: str
    portal: object
    api_path: str
    headers: dict = field(default_factory=dict)   # of the answer (an authorisation's quota)

    @property
    def token(self) -> str | None:
        return request_token(self.request.headers)


@dataclass
class Action:
    func: Callable
    blocking: bool = False   # runs in a worker thread (I/O: DuckDB, the key store)


ACTIONS: dict[str, Action] = {}


def action(name: str, blocking: bool = False):
    def register(func):
        ACTIONS[name] = Action(func, blocking)
        return func
    return register


def _dataset(ctx: Context, p: Params, key: str = "id") -> Dataset:
    ident = p.str(key) or p.str("name_or_id") or p.str("name")
    if not ident:
        raise ValidationError("Missing value: id", {key: ["Missing value"]})
    d = ctx.snap.get(ident)
    if d is None:
        raise NotFound(f"Dataset not found: {ident}")
    return d


# -- actions ---------------------------------------------------------------------------------------
@action("status_show")
def status_show(ctx: Context, p: Params):
    """Site information: title, URL, API version, extensions, catalog size."""
    return {
        "site_title": SITE_TITLE, "site_description": SITE_DESCRIPTION, "site_url": ctx.base,
        "ckan_version": "2.10.0", "api_version": API_VERSION, "locale_default": "zh_Hans_CN",
        "portal_version": PORTAL_VERSION,
        "extensions": ["datastore", "dcat"], "package_count": ctx.snap.size,
        "catalog_loaded_at": ctx.snap.loaded_at,
        # the night each current version stands for: mixed while a run is publishing or after one died
        "catalog_nights": ctx.snap.nights,
    }


@action("site_read")
def site_read(ctx: Context, p: Params):
    """Whether the site can be read (always true)."""
    return True


@action("help_show")
def help_show(ctx: Context, p: Params):
    """The documentation of an action (``name``)."""
    name = p.str("name")
    if not name or name not in ACTIONS:
        raise NotFound(f"Action not found: {name}")
    return (ACTIONS[name].func.__doc__ or "").strip()


@action("package_list")
def package_list(ctx: Context, p: Params):
    """Names of all visible datasets, sorted; ``limit`` and ``offset`` page through them."""
    limit = p.int("limit", -1, minimum=None)
    offset = p.int("offset", 0)
    names = ctx.snap.cache.get("names")
    if names is None:
        names = ctx.snap.cache["names"] = sorted(d.name for d in ctx.snap.datasets)
    return names[offset:] if limit is None or limit < 0 else names[offset:offset + limit]


@action("package_show")
def package_show(ctx: Context, p: Params):
    """One dataset by name or ``id``, with its resources and the platform's extras."""
    return Raw(package_json(ctx.snap, _dataset(ctx, p), ctx.base))


@action("current_package_list_with_resources")
def current_package_list_with_resources(ctx: Context, p: Params):
    """Datasets most recently modified first, with resources; ``limit`` (default 10) and ``offset``."""
    limit = p.int("limit", 10, maximum=MAX_ROWS)
    offset = p.int("offset", 0)
    r = search(ctx.snap, sort="metadata_modified desc", start=offset, rows=limit)
    return Raw(b"[" + b",".join(package_json(ctx.snap, ctx.snap.datasets[i], ctx.base) for i in r.positions) + b"]")


@action("resource_show")
def resource_show(ctx: Context, p: Params):
    """One resource by ``id``."""
    rid = p.str("id")
    if not rid:
        raise ValidationError("Missing value: id", {"id": ["Missing value"]})
    found = ctx.snap.resources.get(rid)
    if not found:
        raise NotFound(f"Resource not found: {rid}")
    d, fmt = found
    return next(r for r in resource_dicts(d, ctx.base) if r["id"] == rid)


@action("package_search")
def package_search(ctx: Context, p: Params):
    """Search datasets: ``q``, ``fq`` (or ``fq_list``), ``sort``, ``rows`` (≤ 1000), ``start``,
    ``facet.field``, ``facet.limit``, ``facet.mincount``, ``fl`` (the fields of each result, e.g. ``id,name``)."""
    rows = p.int("rows", 10, maximum=MAX_ROWS)
    start = p.int("start", 0)
    fq = [p.str("fq") or ""] + p.list("fq_list")
    facet_fields = p.list("facet.field") if p.bool("facet", True) else []
    try:
        r = search(
            ctx.snap, q=p.str("q") or "", fq=fq, sort=p.str("sort"), start=start, rows=rows,
            facet_fields=facet_fields, facet_limit=p.int("facet.limit", 50, minimum=-1),
            facet_mincount=p.int("facet.mincount", 1, minimum=0),
        )
    except _QueryError as exc:
        raise SearchQueryError(f"Search error: {exc}") from None
    facets: dict = {}
    search_facets: dict = {}
    for fname, items in r.facets.items():
        facets[fname] = {v: n for v, n in items}
        search_facets[fname] = {"title": fname, "items": [
            {"name": v, "display_name": _facet_display(ctx.snap, fname, v), "count": n} for v, n in items]}
    head = dumps({"count": r.count, "sort": r.sort, "facets": facets, "search_facets": search_facets})
    fl = [f for f in (p.str("fl") or "").replace(",", " ").split() if f]
    if fl and fl != ["*"]:  # CKAN's field list: only these fields of each result
        results = b",".join(dumps({k: v for k, v in json.loads(package_json(ctx.snap, ctx.snap.datasets[i], ctx.base))
                                   .items() if k in fl}) for i in r.positions)
    else:
        results = b",".join(package_json(ctx.snap, ctx.snap.datasets[i], ctx.base) for i in r.positions)
    return Raw(head[:-1] + b',"results":[' + results + b"]}")


def _facet_display(snap: Snapshot, fname: str, value: str) -> str:
    if fname == "organization":
        o = snap.org_by_key.get(value)
        return o.title if o else value
    if fname == "open_type":
        return OPEN_TYPE_LABELS.get(value, value)
    return value


@action("organization_list")
def organization_list(ctx: Context, p: Params):
    """Departments (organisations) with visible datasets: ``sort`` (name, title, package_count),
    ``limit``, ``offset``, ``all_fields``, ``organizations`` (names to include)."""
    orgs = list(ctx.snap.organizations)
    wanted = p.list("organizations")
    if wanted:
        orgs = [o for o in orgs if o.name in wanted]
    sort = (p.str("sort") or "name asc").strip().split()
    key = sort[0] if sort else "name"
    desc = len(sort) > 1 and sort[1].lower() == "desc"
    if key not in ("name", "title", "package_count"):
        raise ValidationError(f"sort: cannot sort by {key}", {"sort": ["Invalid sort field"]})
    orgs.sort(key=lambda o: (getattr(o, key), o.name), reverse=desc)
    offset = p.int("offset", 0)
    limit = p.int("limit", -1, minimum=None)
    orgs = orgs[offset:] if limit < 0 else orgs[offset:offset + limit]
    if p.bool("all_fields", False):
        return [organization_dict(o) for o in orgs]
    return [o.name for o in orgs]


@action("organization_show")
def organization_show(ctx: Context, p: Params):
    """One department by name or ``id``; ``include_datasets`` adds its datasets (up to 1000)."""
    ident = p.str("id")
    if not ident:
        raise ValidationError("Missing value: id", {"id": ["Missing value"]})
    o = ctx.snap.org_by_key.get(ident)
    if o is None:
        raise NotFound(f"Organization not found: {ident}")
    out = organization_dict(o)
    out.update({"users": [], "extras": [], "tags": [], "groups": []})
    if p.bool("include_datasets", False):
        r = search(ctx.snap, fq=[f'organization:"{o.name}"'], sort="name asc", rows=MAX_ROWS)
        out["packages"] = [json.loads(package_json(ctx.snap, ctx.snap.datasets[i], ctx.base)) for i in r.positions]
    return out


def _groups(snap: Snapshot) -> list[dict]:
    counts: dict[str, int] = {}
    for d in snap.datasets:
        if d.domain:
            counts[d.domain] = counts.get(d.domain, 0) + 1
    return sorted((group_dict(k, n) for k, n in counts.items()), key=lambda g: g["name"])


@action("group_list")
def group_list(ctx: Context, p: Params):
    """The domains (数据领域) as groups, by name; ``all_fields`` for dicts with ``package_count``."""
    groups = _groups(ctx.snap)
    offset = p.int("offset", 0)
    limit = p.int("limit", -1, minimum=None)
    groups = groups[offset:] if limit < 0 else groups[offset:offset + limit]
    return groups if p.bool("all_fields", False) else [g["name"] for g in groups]


@action("group_show")
def group_show(ctx: Context, p: Params):
    """One domain group by name or ``id``; ``include_datasets`` adds its datasets (up to 1000)."""
    ident = p.str("id")
    if not ident:
        raise ValidationError("Missing value: id", {"id": ["Missing value"]})
    g = next((g for g in _groups(ctx.snap) if ident in (g["name"], g["id"])), None)
    if g is None:
        raise NotFound(f"Group not found: {ident}")
    out = {**g, "users": [], "extras": [], "tags": [], "groups": []}
    if p.bool("include_datasets", False):
        r = search(ctx.snap, fq=[f"groups:{g['name']}"], sort="name asc", rows=MAX_ROWS)
        out["packages"] = [json.loads(package_json(ctx.snap, ctx.snap.datasets[i], ctx.base)) for i in r.positions]
    return out


@action("tag_list")
def tag_list(ctx: Context, p: Params):
    """All tags of visible datasets; ``query`` keeps those containing it; ``all_fields`` for dicts."""
    query = (p.str("query") or "").casefold()
    tags = [t for t, _ in ctx.snap.tags if query in t.casefold()]
    if p.bool("all_fields", False):
        return [tag_dict(t) for t in tags]
    return tags


@action("datastore_search", blocking=True)
def datastore_search(ctx: Context, p: Params):
    """Rows of a published table: ``resource_id`` (a resource id or the dataset name), ``filters``,
    ``q``, ``fields``, ``sort``, ``limit`` (default 100, ≤ 32000), ``offset``, ``cursor`` (keyset
    paging: the ``next_cursor`` of the previous page), ``include_total``, ``distinct``,
    ``records_format`` (objects, lists, csv, tsv). Conditional datasets need a key."""
    rid = p.str("resource_id") or p.str("id")
    if not rid:
        raise ValidationError("Missing value: resource_id", {"resource_id": ["Missing value"]})
    found = ctx.snap.resources.get(rid)
    if found:
        d = found[0]
    else:
        d = ctx.snap.get(rid)
        if d is None:
            raise NotFound(f"Resource \"{rid}\" was not found.")
    cursor = ds.read_cursor(ctx.portal.cursor_signer, p.get("cursor"), d.name)
    version = d.current if cursor is None else _pinned_version(d, cursor.version)
    path = ctx.portal.file_path(d, version, "parquet")
    if path is None:
        if cursor is not None:
            raise _version_gone(d, cursor.version)
        raise NotFound(f"Resource \"{rid}\" has no datastore table.")
    # a page reads at most ``limit`` rows: what a daily quota of rows is charged before it is read
    grant = ctx.portal.gate.admit(d, ctx.token, "datastore_search",
                                  rows=min(p.int("limit", ds.DEFAULT_LIMIT, 0, None), ds.MAX_LIMIT))
    if grant is not None:
        ctx.headers.update(grant.headers)
    table = ds.Table(d.name, version.version, str(path), version.row_count)
    try:
        result, n = ds.search(
            ctx.portal.datastore, table, rid, p, {c["name"]: c for c in d.columns}, p.int, p.bool,
            ctx.portal.cursor_signer, cursor, api_path=ctx.api_path,
            columns=grant.columns if grant is not None else None)
    except ActionError as exc:
        ctx.portal.gate.record(grant, "datastore_search", d, None, exc.status)
        raise
    ctx.portal.gate.record(grant, "datastore_search", d, n)
    return result


def _version_gone(d: Dataset, version: int) -> ValidationError:
    return ValidationError(f"cursor: version {version} of {d.name} is no longer published; start again"
                           " without a cursor", {"cursor": ["version no longer available"]})


def _pinned_version(d: Dataset, version: int):
    """The version a cursor was issued on: versions are immutable files, so paging goes on reading it
    even after a newer one became current."""
    v = d.version(version)
    if v is None:
        raise _version_gone(d, version)
    return v


# -- HTTP ------------------------------------------------------------------------------------------
router = APIRouter()


async def _params(request: Request) -> Params:
    data: dict = {}
    for k, v in request.query_params.multi_items():
        if k in data:
            prev = data[k]
            data[k] = (prev if isinstance(prev, list) else [prev]) + [v]
        else:
            data[k] = v
    if request.method == "POST":
        body = await request.body()
        if body.strip():
            ctype = request.headers.get("content-type", "")
            if "application/x-www-form-urlencoded" in ctype:
                try:
                    data.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                except UnicodeDecodeError:
                    raise BadRequest("the form body is not UTF-8") from None
            elif "multipart/form-data" in ctype:
                raise BadRequest("multipart bodies are not accepted: this catalog is read-only")
            else:
                try:
                    parsed = parse_json(body)
                except ValueError:
                    raise BadRequest("JSON Error: could not parse the request body as JSON") from None
                if not isinstance(parsed, dict):
                    raise BadRequest("JSON Error: the request body must be a JSON object")
                data.update(parsed)
    return Params(data)


def _envelope(help_url: str, success: bool, payload) -> bytes:
    if success:
        body = payload if isinstance(payload, Raw) else dumps(payload)
        return b'{"help":' + dumps(help_url) + b',"success":true,"result":' + body + b"}"
    return b'{"help":' + dumps(help_url) + b',"success":false,"error":' + dumps(payload) + b"}"


async def _call(request: Request, name: str, api_path: str) -> Response:
    portal = request.app.state.portal
    base = public_base(request)
    help_url = f"{base}/api/3/action/help_show?name={name}"
    headers = {"Cache-Control": "no-store" if name == "datastore_search" else "no-cache"}
    try:
        act = ACTIONS.get(name)
        if act is None:
            raise BadRequest(f"Action name not known: {name}")
        params = await _params(request)
        snap = await portal.catalog.acurrent()
        ctx = Context(request=request, snap=snap, base=base, portal=portal, api_path=api_path)
        if act.blocking:
            result = await run_in_threadpool(act.func, ctx, params)
        else:
            result = act.func(ctx, params)
        content, status = _envelope(help_url, True, result), 200
        headers.update(ctx.headers)
    except ActionError as exc:
        content, status = _envelope(help_url, False, exc.body()), exc.status
        headers.update(exc.headers)
    return Response(content, status_code=status, media_type="application/json;charset=utf-8", headers=headers)


async def action_v3(name: str, request: Request) -> Response:
    """Call a CKAN action (API version 3): query parameters (GET) or a JSON object (POST)."""
    return await _call(request, name, "/api/3/action/datastore_search")


async def action_unversioned(name: str, request: Request) -> Response:
    """Call a CKAN action: query parameters (GET) or a JSON object (POST)."""
    return await _call(request, name, "/api/action/datastore_search")


# -- the OpenAPI document: each action with its real parameters ------------------------------------
_INT = {"type": "integer", "minimum": 0}
_TEXT = {"type": "string"}
_BOOL = {"type": "boolean"}
_JSON_LIST = {"type": "string", "description": "a JSON list, or one value"}
ACTION_PARAMETERS: dict[str, dict[str, tuple[dict, bool]]] = {   # action → parameter → (schema, required)
    "status_show": {}, "site_read": {},
    "group_list": {"limit": ({"type": "integer"}, False), "offset": (_INT, False), "all_fields": (_BOOL, False)},
    "group_show": {"id": (_TEXT, True), "include_datasets": (_BOOL, False)},
    "help_show": {"name": (_TEXT, True)},
    "package_list": {"limit": ({"type": "integer"}, False), "offset": (_INT, False)},
    "package_show": {"id": (_TEXT, True)},
    "current_package_list_with_resources": {"limit": (_INT, False), "offset": (_INT, False)},
    "resource_show": {"id": (_TEXT, True)},
    "package_search": {
        "q": (_TEXT, False), "fq": (_TEXT, False), "fq_list": (_JSON_LIST, False), "sort": (_TEXT, False),
        "rows": (_INT, False), "start": (_INT, False), "facet": (_BOOL, False), "facet.field": (_JSON_LIST, False),
        "facet.limit": ({"type": "integer", "minimum": -1}, False), "facet.mincount": (_INT, False),
        "fl": ({"type": "string", "description": "the fields to return, separated by commas or spaces"}, False)},
    "organization_list": {"sort": (_TEXT, False), "limit": ({"type": "integer"}, False), "offset": (_INT, False),
                          "all_fields": (_BOOL, False), "organizations": (_JSON_LIST, False)},
    "organization_show": {"id": (_TEXT, True), "include_datasets": (_BOOL, False)},
    "tag_list": {"query": (_TEXT, False), "all_fields": (_BOOL, False)},
    "datastore_search": {
        "resource_id": (_TEXT, True), "filters": ({"type": "string", "description": "a JSON object"}, False),
        "q": (_TEXT, False), "fields": (_JSON_LIST, False), "sort": (_TEXT, False), "limit": (_INT, False),
        "offset": (_INT, False), "cursor": (_TEXT, False), "include_total": (_BOOL, False),
        "distinct": (_BOOL, False),
        "records_format": ({"type": "string", "enum": ["objects", "lists", "csv", "tsv"]}, False)},
}
_ENVELOPE = {"type": "object", "required": ["help", "success"],
             "properties": {"help": {"type": "string"}, "success": {"type": "boolean"}, "result": {},
                            "error": {"type": "object", "required": ["__type", "message"],
                                      "properties": {"__type": {"type": "string"}, "message": {"type": "string"}}}}}
_RESPONSES = {str(code): {"description": text, "content": {"application/json": {"schema": _ENVELOPE}}}
              for code, text in ((200, "CKAN envelope with the result"), (400, "Bad Request / Search Query Error"),
                                 (403, "Authorization Error"), (404, "Not Found Error"), (409, "Validation Error"))}


def _openapi(name: str, method: str) -> dict:
    params = ACTION_PARAMETERS[name]
    if method == "GET":
        return {"parameters": [{"name": p, "in": "query", "required": req, "schema": schema}
                               for p, (schema, req) in params.items()], "responses": _RESPONSES}
    body = {"type": "object", "properties": {p: schema for p, (schema, _) in params.items()},
            "required": [p for p, (_, req) in params.items() if req]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": _RESPONSES}


def _handler(name: str, api_path: str):
    async def handler(request: Request) -> Response:
        return await _call(request, name, api_path)
    handler.__doc__ = ACTIONS[name].func.__doc__
    return handler


# The generic routes come first and answer every action name (known or not, as CKAN does), so a request is
# matched against one route instead of some eighty; the per-action routes after them are what the OpenAPI
# document lists, with each action's real parameters.
for _method in ("GET", "POST"):
    router.add_api_route("/api/3/action/{name}", action_v3, methods=[_method], include_in_schema=False)
    router.add_api_route("/api/action/{name}", action_unversioned, methods=[_method], include_in_schema=False)
for _name in ACTION_PARAMETERS:
    for _prefix, _path in (("/api/3/action/", "/api/3/action/datastore_search"),
                           ("/api/action/", "/api/action/datastore_search")):
        for _method in ("GET", "POST"):
            router.add_api_route(
                _prefix + _name, _handler(_name, _path), methods=[_method], tags=["CKAN Action API"],
                summary=f"{_name} ({_method})", include_in_schema=_prefix == "/api/3/action/",
                operation_id=f"{_name}_{_method.lower()}", openapi_extra=_openapi(_name, _method))


@router.get("/api/3", include_in_schema=False)
@router.get("/api", include_in_schema=False)
async def api_version() -> Response:
    return Response(dumps({"version": API_VERSION}), media_type="application/json")
