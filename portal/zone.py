"""The operation zone's API (授权运营专区): zone credentials submit SQL; only checked and released
aggregates come back. Rows and files are never served here (and zone credentials open no download)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from operation.store import OperationError, QuotaExceeded
from operation.zone import public_query

from .operation_http import ID, answer, json_body, operator, refuse, store, zone

router = APIRouter(prefix="/api/operation/zone", tags=["Operation zone"])


def _zone_operator(request: Request):
    auth, denied = operator(request)
    if denied is None and auth.mode != "zone":
        denied = refuse("Access denied: this credential is for downloads, not the operation zone", 403)
    return auth, denied


@router.get("/tables", name="zone_tables")
def tables(request: Request) -> Response:
    """The authorised tables and columns (current versions) a zone query may read."""
    auth, denied = _zone_operator(request)
    if denied:
        return denied
    return answer([{"name": n, "title": t.title, "version": t.version, "columns": list(t.table.columns),
                    "identifying": sorted(t.table.identifying)} for n, t in zone(request).tables(auth).items()])


@router.post("/queries", name="zone_submit")
async def submit(request: Request) -> Response:
    """Submit ``{"sql": "..."}``: checked, run and output-checked; the result waits for a reviewer."""
    auth, denied = _zone_operator(request)
    if denied:
        return denied
    body = await json_body(request)
    try:
        q = await run_in_threadpool(zone(request).submit, auth, str(body.get("sql") or ""))
    except QuotaExceeded as e:
        return refuse(str(e), 429, headers=e.headers)
    except OperationError as e:
        return refuse(str(e), 400)
    status = 422 if q["status"] in ("refused", "refuse", "failed") else 202
    return answer(public_query(q, with_result=False), status=status)


def _own_query(request: Request, query_id: int):
    auth, denied = _zone_operator(request)
    if denied:
        return None, denied
    q = store(request).query(query_id)
    if q is None or q["application_id"] != auth.application_id:
        return None, refuse(f"Not found: no zone query {query_id} of this application", 404)
    return q, None


@router.get("/queries/{query_id}", name="zone_query")
def show(query_id: Annotated[int, ID], request: Request) -> Response:
    q, denied = _own_query(request, query_id)
    return denied or answer(public_query(q, with_result=True))


@router.get("/queries/{query_id}/result.csv", name="zone_result_csv")
def result_csv(query_id: Annotated[int, ID], request: Request) -> Response:
    """The released output, exactly as released (its SHA-256 in ``X-Content-SHA256``)."""
    q, denied = _own_query(request, query_id)
    if denied:
        return denied
    if not q["released_at"]:
        return refuse(f"query {query_id} is not released yet ({q['status']})", 409)
    try:
        data = zone(request).released_file(q)
    except OperationError as e:
        return refuse(str(e), 500)
    return Response(data, media_type="text/csv; charset=utf-8", headers={"X-Content-SHA256": q["sha256"]})
