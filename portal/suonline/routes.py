"""Su Online (苏在线): each district, street and town receives exactly the data about its own ground.

The portal mounts :data:`router` at ``/suonline``. Everything is read from the published store
(``published/`` under the app's ``app.state.paths``, else ``$SUDATA_HOME``: the slices written by
:func:`sudata.slicing.write_slices` at publish time); the only thing written is the access log.

Units
    The 10 county-level units (6-digit codes) and 118 streets and towns (9-digit codes) of
    :mod:`sudata.units`. A district covers its streets.

Authentication
    Every per-unit resource needs the unit's key (``sudata keys issue --unit CODE``), sent as
    ``Authorization: <key>`` (CKAN convention; ``Bearer <key>`` is accepted too) or ``X-CKAN-API-Key``.
    A street's key opens that street only; a district's key opens the district and its streets.
    For browsers, the HTML page also takes ``?key=<key>`` (or its form, POSTed to ``…/login``): the key
    is checked, a server-side session is opened and its id (never the key) stored in an HttpOnly,
    SameSite=Lax cookie ``suonline_session`` scoped to ``/suonline``, and
    the browser is redirected to the clean address. That cookie is then accepted by every Su Online
    resource, so the page's workbook and JSON links work; ``…/logout`` clears it. ``?key=`` is not
    accepted by the JSON resources.

Responses
    Success: ``{"success": true, "result": …}``. Errors follow CKAN:
    ``{"success": false, "error": {"__type": …, "message": …}}`` — 403 ``Authorization Error`` (no key,
    unknown / revoked / expired key, or a key of another unit), 404 ``Not Found Error`` (unknown unit,
    or a dataset that is not delivered to Su Online), 409 ``Validation Error`` (bad parameters). The unit
    is checked first (units are public), then the key, then the dataset and the parameters.
    Every request that presents a key or a session — served or refused — is appended to the access log;
    anonymous requests (the public unit list, unknown units, the login page) are not.

Closed data (不予开放)
    Closed data never leaves the platform: the open catalog does not list it and no dataset key opens
    it. Su Online is inside the platform: a closed dataset whose model declares ``su_online`` (its
    owner's statement that delivering it to the units is lawful) reaches each unit's key as that unit's
    own slice, with the ID-number guard below, and nothing more.

Endpoints
    ``GET /suonline/units[?level=district|street]``
        Public list of units: code, name, full_name, level, district_code, district_name
        (districts also list their ``street_codes``).
    ``GET /suonline/units/{code}/manifest``
        Tonight's delivery: for each Su Online dataset its current ``version``, ``published_at``,
        ``row_count`` and ``sha256`` of the unit's slice (the Parquet file served by ``?format=parquet``),
        ``previous_version`` and ``changes`` since it (``{added, changed, removed}``; null on a first
        delivery), ``withheld_columns`` and links; plus totals and ``delivered_at``.
    ``GET /suonline/units/{code}/datasets/{name}[?limit=100&offset=0]``
        The unit's slice, CKAN ``datastore_search``-like: ``fields`` (id, type, Chinese title),
        ``records`` sorted by primary key, ``total``, ``limit`` (1–10000), ``offset``, ``_links.next``.
        ``?format=parquet`` returns the slice file itself (its sha256 is the manifest's, also in ``ETag``);
        refused (403) when the dataset has withheld columns.
    ``GET /suonline/units/{code}/datasets/{name}/changes?since={version}``
        Rows of the unit's slice ``added`` (new values), ``changed`` (``{key, columns, before, after}``)
        and ``removed`` (old values) between version ``since`` and the current version, by primary key,
        for incremental sync. ``since`` defaults to the previous delivered version; it must be an
        existing version not newer than the current one (else 409). A unit with no slice in ``since``
        gets every current row as added. ``withheld_columns`` lists the columns left out (withheld in
        either version). Not paged: a unit's nightly changes are small.
    ``GET /suonline/units/{code}/workbook.xlsx``
        Excel workbook: a cover sheet 交付清单 (datasets, versions, counts, checksums), then one sheet
        per dataset with Chinese column headers.
    ``GET /suonline/units/{code}``
        HTML page (Chinese, phone-sized): what arrived tonight and how many rows changed.

Columns whose values look like resident ID numbers in clear are never served (see
:mod:`portal.suonline.guard`); they are listed in ``withheld_columns``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from portal.suonline.service import (
    CST, OPEN_TYPE_LABELS, Delivery, SuOnline, arrived_tonight, column_titles, json_row, to_local,
)
from portal.auth import request_token
from portal.errors import INT64_MAX, ActionError, NotAuthorized, NotFound, ValidationError, error_response
from portal.jsonutil import dumps
from portal.secret import load_secret
from portal.signing import Signer
from portal.suonline.workbook import write_workbook
from sudata import units
from portal.access import AccessStore, Grant
from portal.changefeed import ChangeFeedError
from sudata.settings import Paths, get_paths
from sudata.store import PublishedStore

router = APIRouter(tags=["Su Online"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

COOKIE = "suonline_session"   # a server-side session id: the key itself never goes into a cookie
CSRF_COOKIE = "suonline_csrf"  # the login form's anti-forgery secret (signed double-submit)
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

def ok(result) -> Response:
    return Response(dumps({"success": True, "result": result}), media_type="application/json")


# -- request context -------------------------------------------------------------------------------


@dataclass
class Ctx:
    request: Request
    store: PublishedStore
    access: AccessStore
    grant: Grant | None = None
    presented: bool = False             # the request carried a key or a session
    rows: int | None = None
    _suonline: SuOnline | None = None

    @property
    def suonline(self) -> SuOnline:
        if self._suonline is None:
            self._suonline = SuOnline(self.store)
        return self._suonline


def _paths(request: Request) -> Paths:
    """The app's paths (``create_app(paths)`` keeps them on ``app.state.paths``), else the environment's."""
    paths = getattr(request.app.state, "paths", None)
    return paths if isinstance(paths, Paths) else get_paths()


def _context(request: Request) -> Ctx:
    """The portal's own published store and key store when mounted in it, else ones for the paths."""
    portal = getattr(request.app.state, "portal", None)
    if portal is not None:
        return Ctx(request=request, store=portal.store, access=portal.access)
    paths = _paths(request)
    return Ctx(request=request, store=PublishedStore(paths.published), access=AccessStore(paths.portal_db))


def _token(request: Request, *, allow_query: bool = False) -> str | None:
    """The unit key: the portal's key headers (``Authorization``, ``X-CKAN-API-Key``), then (page only)
    ``?key=``; the session cookie is checked by :func:`_authorize`."""
    token = request_token(request.headers)
    if token is None and allow_query and request.query_params.get("key"):
        token = request.query_params["key"].strip()
    return token


def _csrf_signer(request: Request) -> Signer:
    portal = getattr(request.app.state, "portal", None)
    secret = portal.secret if portal is not None else load_secret(_paths(request).portal_db.parent)
    return Signer(secret, "suonline login form")


def csrf_token(request: Request, browser_secret: str) -> str:
    """The form token tied to this browser's CSRF cookie (an attacker's page can read neither)."""
    return _csrf_signer(request).sign(browser_secret.encode("utf-8"))


def _csrf_ok(request: Request, submitted: str) -> bool:
    browser_secret = request.cookies.get(CSRF_COOKIE)
    return bool(browser_secret and submitted) and hmac.compare_digest(csrf_token(request, browser_secret), submitted)


def _unit(code: str) -> units.Unit:
    unit = units.find(code)
    if unit is None:
        raise NotFound(f"unknown Su Online unit {code!r} (see /suonline/units)")
    return unit


def _authorize(ctx: Ctx, unit: units.Unit, token: str | None) -> Grant:
    """The grant of the request's key, else of the browser's login session."""
    session = None if token else ctx.request.cookies.get(COOKIE)
    if not token and not session:
        raise NotAuthorized("a Su Online unit key is required (Authorization header)")
    ctx.presented = True
    grant = ctx.access.resolve(token) if token else ctx.access.resolve_session(session)
    if grant is None:
        raise NotAuthorized("the key is unknown, revoked or expired")
    ctx.grant = grant
    if grant.scope_type != "unit":
        raise NotAuthorized("this key is not a Su Online unit key")
    if not units.covers(grant.scope, unit.code):
        raise NotAuthorized(f"the key of unit {grant.scope} does not open unit {unit.code}")
    return grant


def _serve(request: Request, action: str, target: str, handler: Callable[[Ctx], Response]) -> Response:
    """Run ``handler``, turn :class:`~portal.errors.ActionError` into a CKAN error, and log the read either way."""
    ctx = _context(request)
    try:
        response = handler(ctx)
        status = response.status_code
    except ActionError as e:
        response, status = error_response(e), e.status
    except Exception:
        ctx.access.log(ctx.grant, action, target, None, 500)
        raise
    # Logged: every request that presented a key or session, served or refused. Not logged: anonymous
    # requests (public resources, unknown units, the login page), which anyone could repeat without end
    # to fill the log and which read nothing.
    if ctx.grant is not None or ctx.presented:
        ctx.access.log(ctx.grant, action, target, ctx.rows, status)
    return response


def _dataset(ctx: Ctx, name: str) -> dict:
    d = ctx.suonline.dataset(name)
    if d is None:
        raise NotFound(f"dataset {name!r} is not delivered to Su Online")
    return d


def _int_param(request: Request, name: str, default: int | None, lo: int, hi: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be an integer, got {raw!r}") from None
    hi = INT64_MAX if hi is None else hi  # DuckDB's LIMIT / OFFSET are 64-bit
    if value < lo or value > hi:
        bound = f"between {lo} and {hi}"
        raise ValidationError(f"{name} must be {bound}, got {value}")
    return value


# -- JSON ------------------------------------------------------------------------------------------


@router.get("/units", name="suonline_units")
def list_units(request: Request) -> Response:
    """Public list of the Su Online units."""

    def handler(ctx: Ctx) -> Response:
        level = request.query_params.get("level")
        if level not in (None, "", *units.LEVELS):
            raise ValidationError(f"level must be one of {list(units.LEVELS)}, got {level!r}")
        out = []
        for u in units.all_units():
            if level and u.level != level:
                continue
            item = u.as_dict()
            if u.level == units.DISTRICT:
                item["street_codes"] = [s.code for s in units.streets_of(u.code)]
            out.append(item)
        ctx.rows = len(out)
        return ok({"count": len(out), "units": out})

    return _serve(request, "suonline.units", "units", handler)


def _delivery_json(request: Request, d: Delivery) -> dict:
    ds = d.dataset
    records_url = request.url_for("suonline_dataset", code=d.unit.code, name=d.name)
    links = {
        "records": str(records_url),
        "parquet": str(records_url.include_query_params(format="parquet")),
        "changes": (str(request.url_for("suonline_changes", code=d.unit.code, name=d.name)
                        .include_query_params(since=d.previous_version)) if d.previous_version is not None else None),
    }
    return {
        "name": d.name,
        "title": ds.get("title"),
        "title_en": ds.get("title_en"),
        "department": ds.get("department"),
        "department_name": ds.get("department_name"),
        "open_type": ds.get("open_type"),
        "security_grade": ds.get("security_grade"),
        "update_frequency": ds.get("update_frequency"),
        "scope_column": ds.get("scope_column") or (ds.get("meta") or {}).get("catalog", {}).get("scope_column"),
        "primary_key": d.primary_key,
        "version": d.version["version"],
        "published_at": d.version["published_at"],
        "drop_date": d.version.get("drop_date"),
        "row_count": d.row_count,
        "sha256": d.sha256,
        "bytes": d.size,
        "format": "parquet",
        "previous_version": d.previous_version,
        "changes": d.changes_since_previous(),
        "withheld_columns": list(d.withheld),
        "links": links,
    }


@router.get("/units/{code}/manifest", name="suonline_manifest")
def manifest(code: str, request: Request) -> Response:
    """Tonight's delivery for one unit."""

    def handler(ctx: Ctx) -> Response:
        unit = _unit(code)
        _authorize(ctx, unit, _token(request))
        deliveries = ctx.suonline.deliveries(unit)
        items = [_delivery_json(request, d) for d in deliveries]
        delivered_at, arrived = arrived_tonight(deliveries)
        for item in items:
            item["arrived_tonight"] = item["name"] in arrived
        totals = {"datasets": len(items), "rows": sum(i["row_count"] for i in items)}
        for k in ("added", "changed", "removed"):
            totals[k] = sum((i["changes"] or {}).get(k, 0) for i in items)
        ctx.rows = len(items)
        return ok({
            "unit": unit.as_dict(),
            "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "delivered_at": delivered_at.isoformat() if delivered_at else None,
            "datasets": items,
            "totals": totals,
            "workbook": str(request.url_for("suonline_workbook", code=unit.code)),
        })

    return _serve(request, "suonline.manifest", code, handler)


@router.get("/units/{code}/datasets/{name}", name="suonline_dataset")
def dataset_rows(code: str, name: str, request: Request) -> Response:
    """The unit's slice of one dataset: JSON rows (paged) or the Parquet file."""
    fmt = request.query_params.get("format") or "json"
    action = "suonline.slice.parquet" if fmt == "parquet" else "suonline.slice"

    def handler(ctx: Ctx) -> Response:
        unit = _unit(code)
        _authorize(ctx, unit, _token(request))
        d = ctx.suonline.delivery(_dataset(ctx, name), unit)
        if fmt == "parquet":
            if d.withheld:
                raise NotAuthorized(f"columns {list(d.withheld)} hold resident ID numbers in clear;"
                                                " the Parquet slice is refused (JSON rows omit those columns)")
            if d.path is None:
                raise NotFound(f"no slice of {name} for unit {unit.code} in version"
                                               f" {d.version['version']}")
            ctx.rows = d.row_count
            return FileResponse(
                d.path, media_type="application/vnd.apache.parquet",
                filename=f"{name}_v{d.version['version']}_{unit.code}.parquet",
                headers={"ETag": f'"{d.sha256}"', "X-Checksum-SHA256": d.sha256 or ""},
            )
        if fmt != "json":
            raise ValidationError(f"format must be json or parquet, got {fmt!r}")
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int_param(request, "offset", 0, 0)
        records = [json_row(r) for r in d.records(limit, offset)]
        nxt = None
        if offset + len(records) < d.row_count:
            nxt = str(request.url_for("suonline_dataset", code=unit.code, name=name)
                      .include_query_params(limit=limit, offset=offset + limit))
        ctx.rows = len(records)
        return ok({
            "unit": unit.code,
            "dataset": name,
            "title": d.dataset.get("title"),
            "version": d.version["version"],
            "published_at": d.version["published_at"],
            "primary_key": d.primary_key,
            "sha256": d.sha256,
            "fields": d.fields(),
            "withheld_columns": list(d.withheld),
            "total": d.row_count,
            "limit": limit,
            "offset": offset,
            "records": records,
            "_links": {"next": nxt},
        })

    return _serve(request, action, f"{code}/{name}", handler)


@router.get("/units/{code}/datasets/{name}/changes", name="suonline_changes")
def dataset_changes(code: str, name: str, request: Request) -> Response:
    """Rows added / changed / removed in the unit's slice since a version."""

    def handler(ctx: Ctx) -> Response:
        unit = _unit(code)
        _authorize(ctx, unit, _token(request))
        d = ctx.suonline.delivery(_dataset(ctx, name), unit)
        current = d.version["version"]
        since = _int_param(request, "since", d.previous_version, 1)
        if since is None:
            raise ValidationError(f"{name} has no earlier version; since is required")
        if since > current:
            raise ValidationError(f"since={since} is newer than the current version {current}")
        if ctx.suonline.version(name, since) is None:
            raise ValidationError(f"{name} has no version {since}")
        if not d.primary_key:
            raise ValidationError(f"{name} has no primary key; no change feed can be computed")
        try:
            cs, excluded = ctx.suonline.changes(d, since)
        except ChangeFeedError as e:
            raise ValidationError(str(e)) from None
        ctx.rows = len(cs.added) + len(cs.changed) + len(cs.removed)
        return ok({
            "unit": unit.code,
            "dataset": name,
            "since": since,
            "version": current,
            "published_at": d.version["published_at"],
            "primary_key": cs.primary_key,
            "counts": cs.counts(),
            "added": [json_row(r) for r in cs.added],
            "changed": [{"key": json_row(c["key"]), "columns": c["columns"], "before": json_row(c["before"]),
                         "after": json_row(c["after"])} for c in cs.changed],
            "removed": [json_row(r) for r in cs.removed],
            "columns_added": cs.columns_added,
            "columns_removed": cs.columns_removed,
            "withheld_columns": excluded,
        })

    return _serve(request, "suonline.changes", f"{code}/{name}", handler)


@router.get("/units/{code}/workbook.xlsx", name="suonline_workbook")
def workbook(code: str, request: Request) -> Response:
    """The unit's delivery as an Excel workbook."""

    def handler(ctx: Ctx) -> Response:
        unit = _unit(code)
        _authorize(ctx, unit, _token(request))
        deliveries = ctx.suonline.deliveries(unit)
        now = dt.datetime.now(CST)
        fd, tmp = tempfile.mkstemp(prefix="suonline-", suffix=".xlsx")
        os.close(fd)
        try:
            ctx.rows = write_workbook(Path(tmp), unit, deliveries, now)
        except BaseException:
            os.unlink(tmp)
            raise
        return FileResponse(
            tmp,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=f"苏在线_{unit.full_name}_{now:%Y%m%d}.xlsx",
            background=BackgroundTask(os.unlink, tmp),
        )

    return _serve(request, "suonline.workbook", code, handler)


# -- HTML ------------------------------------------------------------------------------------------


def _cookie_path(request: Request) -> str:
    """Where the router is mounted (``/suonline``): the cookie goes to Su Online only."""
    return request.url_for("suonline_units").path.rsplit("/units", 1)[0] or "/"


SESSION_DAYS = 30


def _start_session(ctx: Ctx, response: Response, grant: Grant) -> None:
    sid = ctx.access.open_session(grant, SESSION_DAYS)
    response.set_cookie(COOKIE, sid, httponly=True, samesite="lax", path=_cookie_path(ctx.request),
                        max_age=SESSION_DAYS * 24 * 3600)


def _login_page(request: Request, unit: units.Unit | None, code: str, message: str, status: int,
                error: bool = True) -> HTMLResponse:
    browser_secret = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    resp = templates.TemplateResponse(
        request, "suonline_login.html",
        {"unit": unit, "code": code, "message": message, "error": error,
         "login_url": str(request.url_for("suonline_login", code=code).path) if unit else None,
         "csrf": csrf_token(request, browser_secret)},
        status_code=status,
    )
    if request.cookies.get(CSRF_COOKIE) != browser_secret:
        resp.set_cookie(CSRF_COOKIE, browser_secret, httponly=True, samesite="strict", path=_cookie_path(request))
    return resp


def _page_error(request: Request, code: str, e: ActionError) -> HTMLResponse:
    unit = units.find(code)
    if e.status == 404:
        return _login_page(request, unit, code, "没有这个单位。请核对单位代码。", 404)
    if e.status == 403 and "required" in e.message:
        return _login_page(request, unit, code, "请输入本单位的苏在线密钥。", 403, error=False)
    if e.status == 403:
        return _login_page(request, unit, code, "密钥无效、已吊销或已过期，或不属于本单位。请联系市数据局重新申领。", 403)
    return _login_page(request, unit, code, e.message, e.status)


@router.get("/units/{code}", name="suonline_page", response_class=HTMLResponse)
def unit_page(code: str, request: Request) -> Response:
    """The unit's page (Chinese, phone-sized). ``?key=`` logs in and redirects to the clean address."""

    def handler(ctx: Ctx) -> Response:
        unit = _unit(code)
        query_key = request.query_params.get("key")
        token = _token(request, allow_query=True)
        try:
            grant = _authorize(ctx, unit, token)
        except ActionError as e:
            resp = _page_error(request, code, e)
            if ctx.grant is None and not token and request.cookies.get(COOKIE):
                resp.delete_cookie(COOKIE, path=_cookie_path(request))  # a stale session: forget it
            return resp
        if query_key:
            resp = RedirectResponse(str(request.url_for("suonline_page", code=unit.code).path), status_code=303)
            _start_session(ctx, resp, grant)
            return resp
        deliveries = ctx.suonline.deliveries(unit)
        delivered_at, arrived = arrived_tonight(deliveries)
        items = []
        for d in deliveries:
            published = to_local(d.version["published_at"])
            titles = column_titles(d.dataset)
            items.append({
                "name": d.name,
                "title": d.dataset.get("title") or d.name,
                "department": d.dataset.get("department_name") or "",
                "open_type": d.dataset.get("open_type"),
                "open_type_label": OPEN_TYPE_LABELS.get(d.dataset.get("open_type"), ""),
                "version": d.version["version"],
                "published": published.strftime("%m-%d %H:%M") if published else "",
                "rows": d.row_count,
                "changes": d.changes_since_previous(),
                "arrived": d.name in arrived,
                "withheld": [titles.get(c, c) for c in d.withheld],
                "records_url": str(request.url_for("suonline_dataset", code=unit.code, name=d.name).path),
            })
        items.sort(key=lambda i: (not i["arrived"], i["title"]))
        totals = {k: sum((i["changes"] or {}).get(k, 0) for i in items) for k in ("added", "changed", "removed")}
        ctx.rows = len(items)
        streets = units.streets_of(unit.code) if unit.level == units.DISTRICT else []
        return templates.TemplateResponse(request, "suonline_unit.html", {
            "unit": unit,
            "holder": grant.holder,
            "delivered_at": delivered_at.strftime("%Y年%m月%d日 %H:%M") if delivered_at else None,
            "items": items,
            "arrived_count": sum(1 for i in items if i["arrived"]),
            "total_rows": sum(i["rows"] for i in items),
            "totals": totals,
            "streets": [{"unit": s, "url": str(request.url_for("suonline_page", code=s.code).path)} for s in streets],
            "workbook_url": str(request.url_for("suonline_workbook", code=unit.code).path),
            "manifest_url": str(request.url_for("suonline_manifest", code=unit.code).path),
            "logout_url": str(request.url_for("suonline_logout", code=unit.code).path),
        })

    def page_serve(ctx: Ctx) -> Response:
        try:
            return handler(ctx)
        except ActionError as e:
            return _page_error(request, code, e)

    return _serve(request, "suonline.page", code, page_serve)


@router.post("/units/{code}/login", name="suonline_login")
async def unit_login(code: str, request: Request) -> Response:
    """The page's key form: check the key, set the cookie, go to the page."""
    body = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (body.get("key") or [""])[0].strip()
    submitted_csrf = (body.get("csrf") or [""])[0]

    def handler(ctx: Ctx) -> Response:
        try:
            unit = _unit(code)
            if not _csrf_ok(request, submitted_csrf):
                return _login_page(request, unit, code, "表单已失效，请重新输入密钥。", 403)
            if not token:
                raise NotAuthorized("a Su Online unit key is required")
            grant = _authorize(ctx, unit, token)
        except ActionError as e:
            return _page_error(request, code, e)
        resp = RedirectResponse(str(request.url_for("suonline_page", code=unit.code).path), status_code=303)
        _start_session(ctx, resp, grant)
        return resp

    return await run_in_threadpool(_serve, request, "suonline.login", code, handler)


@router.get("/units/{code}/logout", name="suonline_logout")
def unit_logout(code: str, request: Request) -> Response:
    _context(request).access.end_session(request.cookies.get(COOKIE))
    resp = RedirectResponse(str(request.url_for("suonline_page", code=code).path), status_code=303)
    resp.delete_cookie(COOKIE, path=_cookie_path(request))
    return resp
