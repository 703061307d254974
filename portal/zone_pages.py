"""The operator's pages of the operation zone (授权运营专区, ``/zone``): log in with the zone credential,
submit SQL, read the output check (safe / review / refuse), see released results and download their CSV.

The browser holds a session id (HttpOnly, SameSite=Strict, path ``/zone``), never the credential; every
form carries a CSRF token signed for the session, as on ``/review``. What the pages show is what the zone
API answers: a result only once a reviewer released it.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from operation.store import Authorisation, OperationError, QuotaExceeded
from operation.zone import public_query

from .applications import QUERY_LABELS
from .operation_http import ID, form_body, store, zone
from .signing import Signer
from .web import templates

router = APIRouter(tags=["Operation zone pages"], include_in_schema=False)

SESSION_COOKIE = "zone_session"
CSRF_COOKIE = "zone_csrf"
REPORT_LABELS = {"rows": "结果行数", "suppressed_rows": "整行隐去", "suppressed_cells": "隐去的单元格",
                 "small_cells": "小单元格", "dominated_cells": "受支配的求和"}


def _csrf_for(request: Request, value: str) -> str:
    return Signer(request.app.state.portal.secret, "operator csrf").sign(value.encode("utf-8"))


def _csrf_ok(request: Request, value: str | None, submitted: str) -> bool:
    return bool(value and submitted) and hmac.compare_digest(_csrf_for(request, value), submitted)


def _operator(request: Request) -> Authorisation | None:
    auth = store(request).operator_session(request.cookies.get(SESSION_COOKIE))
    return auth if auth is not None and auth.mode == "zone" and auth.valid else None


def _page(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"nav": "zone", "query_labels": QUERY_LABELS,
                                                      "report_labels": REPORT_LABELS, **context}, status_code=status)


def _login_form(request: Request, message: str | None = None, status: int = 200) -> HTMLResponse:
    browser = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    resp = _page(request, "zone_login.html", {"csrf": _csrf_for(request, browser), "error": message}, status)
    resp.set_cookie(CSRF_COOKIE, browser, httponly=True, samesite="strict", path="/zone")
    return resp


def _to_login() -> RedirectResponse:
    return RedirectResponse("/zone/login", status_code=303)


@router.get("/zone/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return _login_form(request)


@router.post("/zone/login")
async def login(request: Request) -> Response:
    form = await form_body(request)
    if not _csrf_ok(request, request.cookies.get(CSRF_COOKIE), (form.get("csrf") or [""])[0]):
        return _login_form(request, "表单已失效，请重新登录。", 403)
    got = await run_in_threadpool(store(request).open_operator_session, (form.get("credential") or [""])[0].strip())
    if got is None:
        return _login_form(request, "凭证无效、已撤销、不在授权期限内，或不是授权运营专区的凭证。", 403)
    resp = RedirectResponse("/zone", status_code=303)
    resp.set_cookie(SESSION_COOKIE, got[0], httponly=True, samesite="strict", path="/zone", max_age=8 * 3600)
    return resp


@router.get("/zone/logout")
def logout(request: Request) -> Response:
    store(request).end_operator_session(request.cookies.get(SESSION_COOKIE))
    resp = _to_login()
    resp.delete_cookie(SESSION_COOKIE, path="/zone")
    return resp


def _home(request: Request, auth: Authorisation, error: str | None = None, sql: str = "",
          status: int = 200) -> HTMLResponse:
    tables = zone(request).tables(auth)
    queries = [public_query(q, with_result=True) for q in store(request).application_queries(auth.application_id)]
    return _page(request, "zone_home.html", {
        "auth": auth, "tables": tables, "queries": queries, "error": error, "sql": sql,
        "csrf": _csrf_for(request, request.cookies[SESSION_COOKIE])}, status)


@router.get("/zone", response_class=HTMLResponse)
def home(request: Request) -> Response:
    auth = _operator(request)
    return _to_login() if auth is None else _home(request, auth)


@router.post("/zone/queries")
async def submit(request: Request) -> Response:
    auth = _operator(request)
    form = await form_body(request)
    if auth is None or not _csrf_ok(request, request.cookies.get(SESSION_COOKIE), (form.get("csrf") or [""])[0]):
        return _to_login()
    sql = (form.get("sql") or [""])[0]
    try:
        q = await run_in_threadpool(zone(request).submit, auth, sql)
    except QuotaExceeded as e:
        return _home(request, auth, f"今日查询次数已用完（{e}）。", sql, 429)
    except OperationError as e:
        return _home(request, auth, str(e), sql, 400)
    return RedirectResponse(f"/zone#query-{q['id']}", status_code=303)


@router.get("/zone/queries/{query_id}/result.csv")
def result_csv(query_id: Annotated[int, ID], request: Request) -> Response:
    auth = _operator(request)
    if auth is None:
        return _to_login()
    q = store(request).query(query_id)
    if q is None or q["application_id"] != auth.application_id or not q["released_at"]:
        return HTMLResponse("未找到本申请已发布的该查询结果。", status_code=404)
    try:
        data = zone(request).released_file(q)
    except OperationError as e:
        return HTMLResponse(str(e), status_code=500)
    return Response(data, media_type="text/csv; charset=utf-8", headers={
        "X-Content-SHA256": q["sha256"], "Content-Disposition": f'attachment; filename="zone-query-{query_id}.csv"'})
