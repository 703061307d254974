"""Credit checks for platform enterprises: ``POST /api/operation/credit/lookup`` with up to 1,000
unified social credit codes, answered from the enterprise credit profile within the platform's scope."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from operation.credit import Credit
from operation.store import OperationError, QuotaExceeded, quota_headers, seconds_to_midnight

from .operation_http import json_body, operator, refuse, store

router = APIRouter(prefix="/api/operation/credit", tags=["Credit checks"])


@router.post("/lookup", name="credit_lookup")
async def lookup(request: Request) -> Response:
    """``{"codes": [...]}`` → per code: valid (check character), found, and the scoped licence and penalty
    fields. Codes, not names: there is no listing and no download."""
    auth, denied = operator(request)
    if denied:
        return denied
    if auth.mode != "credit":
        return refuse("Access denied: this credential is not for credit checks", 403)
    body = await json_body(request)
    credit = Credit(store(request), request.app.state.portal.store)
    try:
        result = await run_in_threadpool(credit.lookup, auth, body.get("codes"))
    except QuotaExceeded as e:
        return refuse(str(e), 429, headers=e.headers)
    except OperationError as e:
        return refuse(str(e), 400)
    # 1,000 answers of plain values: orjson writes them several times faster than json
    quota = result.get("quota")
    headers = quota_headers(quota["per_day"], quota["per_day"] - quota["used_today"], seconds_to_midnight()) \
        if quota else None
    return Response(orjson.dumps({"success": True, "result": result}), media_type="application/json", headers=headers)
