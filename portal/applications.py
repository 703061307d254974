"""Applications for use of data (用数申请): the applicant's form, status and credential pickup (web and
JSON), and the providing department's reviewer pages (login, approve or reject, release zone outputs)."""

from __future__ import annotations

from typing import Annotated

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from operation import applications
from operation.store import OperationError, Reviewer
from operation.zone import public_query

from .operation_http import ID, answer, form_body, json_body, refuse, store, zone
from .signing import Signer
from .web import templates

router = APIRouter(tags=["Applications"])

SESSION_COOKIE = "review_session"
CSRF_COOKIE = "review_csrf"
MODE_LABELS = {"download": "下载（有条件开放数据的文件和数据行）", "zone": "授权运营专区（仅可查询并导出经审核的统计结果）",
               "credit": "信用核查（平台企业按统一社会信用代码批量查询许可和处罚情况）"}
STATUS_LABELS = {"submitted": "待审核", "approved": "已批准", "rejected": "未通过"}
QUERY_LABELS = {"safe": "安全", "review": "需人工审核", "refuse": "拒绝发布", "refused": "查询被拒绝", "failed": "执行失败"}


def _published(request: Request):
    return request.app.state.portal.store


def _page(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"nav": "apply", "mode_labels": MODE_LABELS,
                                                      "status_labels": STATUS_LABELS, "query_labels": QUERY_LABELS,
                                                      **context}, status_code=status)


def _offered(request: Request) -> list[dict]:
    """Datasets one may apply for: conditional and unconditional (closed data is never offered)."""
    return [d for d in _published(request).datasets(include_closed=False)]


def _from_form(form: dict[str, list[str]]) -> dict:
    first = {k: (v[0] if v else "") for k, v in form.items()}
    datasets = {}
    for name in form.get("dataset", []):
        fields = [f.split(".", 1)[1] for f in form.get("field", []) if f.startswith(name + ".")]
        datasets[name] = fields
    return {**first, "datasets": datasets}


# -- the applicant -----------------------------------------------------------------------------------


@router.get("/apply", response_class=HTMLResponse, include_in_schema=False)
def apply_form(request: Request) -> HTMLResponse:
    return _page(request, "apply.html", {"datasets": _offered(request), "values": {}, "error": None})


@router.post("/apply", response_class=HTMLResponse, include_in_schema=False)
async def apply_submit(request: Request) -> HTMLResponse:
    data = _from_form(await form_body(request))
    try:
        app_id, secret = await run_in_threadpool(_submit, request, data)
    except OperationError as e:
        return _page(request, "apply.html", {"datasets": _offered(request), "values": data, "error": str(e)}, 400)
    return _page(request, "apply_done.html", {"app_id": app_id, "secret": secret})


def _submit(request: Request, data: dict) -> tuple[int, str]:
    return store(request).submit(applications.validate(_published(request), data))


@router.post("/api/operation/applications", name="application_submit")
async def api_submit(request: Request) -> Response:
    """Apply: ``{organisation, uscc, contact_name, contact_phone, contact_email, purpose, scenario,
    datasets: {name: [fields]}, period_start, period_end, mode}``; answers the id and the status secret."""
    try:
        app_id, secret = await run_in_threadpool(_submit, request, await json_body(request))
    except OperationError as e:
        return refuse(str(e), 400)
    return answer({"id": app_id, "secret": secret, "status": "submitted"}, 201)


@router.post("/api/operation/applications/{app_id}/status", name="application_status")
async def api_status(app_id: Annotated[int, ID], request: Request) -> Response:
    body = await json_body(request)
    try:
        app = store(request).check_secret(app_id, str(body.get("secret") or ""))
    except OperationError as e:
        return refuse(str(e), 404)
    return answer(app.to_dict())


@router.post("/api/operation/applications/{app_id}/credential", name="application_credential")
async def api_credential(app_id: Annotated[int, ID], request: Request) -> Response:
    """The approved application's credential, issued and shown this once."""
    body = await json_body(request)
    try:
        token = store(request).collect_credential(app_id, str(body.get("secret") or ""))
    except OperationError as e:
        return refuse(str(e), 409)
    return answer({"credential": token, "shown_once": True})


@router.get("/apply/status", response_class=HTMLResponse, include_in_schema=False)
def status_form(request: Request) -> HTMLResponse:
    return _page(request, "apply_status.html", {"app": None, "error": None})


@router.post("/apply/status", response_class=HTMLResponse, include_in_schema=False)
async def status_page(request: Request) -> HTMLResponse:
    form = await form_body(request)
    app_id, secret = (form.get("id") or [""])[0], (form.get("secret") or [""])[0]
    try:
        app = store(request).check_secret(int(app_id), secret)
    except (OperationError, ValueError):
        return _page(request, "apply_status.html", {"app": None, "error": "申请编号或查询密码不正确。"}, 404)
    token = None
    if (form.get("collect") or [""])[0]:
        try:
            token = store(request).collect_credential(app.id, secret)
            app = store(request).application(app.id)
        except OperationError as e:
            return _page(request, "apply_status.html", {"app": app.to_dict(), "secret": secret, "error": str(e)}, 409)
    return _page(request, "apply_status.html", {"app": app.to_dict(), "secret": secret, "token": token,
                                                "error": None})


# -- the reviewer ------------------------------------------------------------------------------------


def _signer(request: Request) -> Signer:
    return Signer(request.app.state.portal.secret, "reviewer csrf")


def _csrf_for(request: Request, value: str) -> str:
    return _signer(request).sign(value.encode("utf-8"))


def _csrf_ok(request: Request, value: str | None, submitted: str) -> bool:
    return bool(value and submitted) and hmac.compare_digest(_csrf_for(request, value), submitted)


def _reviewer(request: Request) -> Reviewer | None:
    return store(request).session_reviewer(request.cookies.get(SESSION_COOKIE))


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/review/login", status_code=303)


@router.get("/review/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request) -> HTMLResponse:
    return login_form(request)


def login_form(request: Request, message: str | None = None, status: int = 200) -> HTMLResponse:
    browser = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    resp = _page(request, "review_login.html", {"csrf": _csrf_for(request, browser), "error": message}, status)
    resp.set_cookie(CSRF_COOKIE, browser, httponly=True, samesite="strict", path="/review")
    return resp


@router.post("/review/login", include_in_schema=False)
async def login(request: Request) -> Response:
    form = await form_body(request)
    if not _csrf_ok(request, request.cookies.get(CSRF_COOKIE), (form.get("csrf") or [""])[0]):
        return login_form(request, "表单已失效，请重新登录。", 403)
    got = await run_in_threadpool(store(request).login, (form.get("username") or [""])[0].strip(),
                                  (form.get("password") or [""])[0])
    if got is None:
        return login_form(request, "用户名或密码不正确。", 403)
    sid, _ = got
    resp = RedirectResponse("/review", status_code=303)
    resp.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict", path="/review", max_age=8 * 3600)
    return resp


@router.get("/review/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    store(request).logout(request.cookies.get(SESSION_COOKIE))
    resp = _login_redirect()
    resp.delete_cookie(SESSION_COOKIE, path="/review")
    return resp


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
def review_home(request: Request) -> Response:
    reviewer = _reviewer(request)
    if reviewer is None:
        return _login_redirect()
    apps = [a.to_dict() for a in store(request).applications(department=reviewer.department)]
    queries = [public_query(q, with_result=True) | {"result": q["result"], "organisation": q["organisation"]}
               for q in store(request).queries(department=reviewer.department, pending=True)]
    return _page(request, "review_home.html", {"reviewer": reviewer, "apps": apps, "queries": queries,
                                               "csrf": _csrf_for(request, request.cookies[SESSION_COOKIE])})


def _own_application(request: Request, reviewer: Reviewer, app_id: int):
    app = store(request).application(app_id)
    if app is None or app.row["department"] != reviewer.department:
        return None
    return app


@router.get("/review/applications/{app_id}", response_class=HTMLResponse, include_in_schema=False)
def application_page(app_id: Annotated[int, ID], request: Request) -> Response:
    return review_application(app_id, request)


def review_application(app_id: int, request: Request, error: str | None = None, status: int = 200) -> Response:
    reviewer = _reviewer(request)
    if reviewer is None:
        return _login_redirect()
    app = _own_application(request, reviewer, app_id)
    if app is None:
        return HTMLResponse("未找到本部门的该申请。", status_code=404)
    return _page(request, "review_application.html", {
        "reviewer": reviewer, "app": app.to_dict(), "audit": app.audit, "error": error,
        "csrf": _csrf_for(request, request.cookies[SESSION_COOKIE])}, status)


async def _reviewer_form(request: Request):
    reviewer = _reviewer(request)
    form = await form_body(request)
    if reviewer is None or not _csrf_ok(request, request.cookies.get(SESSION_COOKIE), (form.get("csrf") or [""])[0]):
        return None, form
    return reviewer, form


@router.post("/review/applications/{app_id}/decision", include_in_schema=False)
async def decide(app_id: Annotated[int, ID], request: Request) -> Response:
    reviewer, form = await _reviewer_form(request)
    if reviewer is None:
        return _login_redirect()
    app = _own_application(request, reviewer, app_id)
    if app is None:
        return HTMLResponse("未找到本部门的该申请。", status_code=404)
    first = {k: (v[0] if v else "") for k, v in form.items()}
    by = f"{reviewer.name}（{reviewer.username}）"
    try:
        if first.get("decision") == "reject":
            store(request).reject(app_id, by, first.get("reason", ""))
        else:
            mode = first.get("mode") or app.row["mode"]
            scope = applications.approval_scope(
                _published(request), app.to_dict(), period_start=first.get("period_start") or None,
                period_end=first.get("period_end") or None, quota_per_day=first.get("quota_per_day") or None,
                mode=mode, quota_unit=(first.get("quota_unit") or None) if mode == "download" else None)
            store(request).approve(app_id, by, scope, first.get("conditions") or None)
    except (OperationError, ValueError) as e:
        return review_application(app_id, request, str(e), 400)
    return RedirectResponse(f"/review/applications/{app_id}", status_code=303)


@router.post("/review/zone/{query_id}/release", include_in_schema=False)
async def release(query_id: Annotated[int, ID], request: Request) -> Response:
    reviewer, _ = await _reviewer_form(request)
    if reviewer is None:
        return _login_redirect()
    try:
        await run_in_threadpool(zone(request).release, query_id, f"{reviewer.name}（{reviewer.username}）",
                                reviewer.department)
    except OperationError as e:
        return HTMLResponse(str(e), status_code=409)
    return RedirectResponse("/review", status_code=303)
