"""What the operation pages and APIs share: the store, JSON answers, forms, the operator's credential."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from fastapi import Path, Request
from fastapi.responses import Response

from operation.store import Authorisation, OperationStore
from operation.zone import Zone

from .auth import request_token


# path parameters: ids SQLite can hold, calendar years
ID = Path(ge=1, le=2 ** 62)
YEAR = Path(ge=2000, le=9999)


def store(request: Request) -> OperationStore:
    return request.app.state.portal.operation


def zone(request: Request) -> Zone:
    portal = request.app.state.portal
    return Zone(portal.operation, portal.store)


def answer(result, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps({"success": True, "result": result}, ensure_ascii=False, default=str),
                    status_code=status, media_type="application/json", headers=headers)


def refuse(message: str, status: int, headers: dict | None = None) -> Response:
    return Response(json.dumps({"success": False, "error": {"message": message}}, ensure_ascii=False),
                    status_code=status, media_type="application/json", headers=headers)


async def json_body(request: Request) -> dict:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


async def form_body(request: Request) -> dict[str, list[str]]:
    return parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)


def operator(request: Request) -> tuple[Authorisation | None, Response | None]:
    """The valid credential of a request, or the 403 answer saying why there is none."""
    token = request_token(request.headers)
    auth = store(request).resolve(token)
    if auth is None:
        return None, refuse("Access denied: send the credential of an approved application in the Authorization"
                            " header" if not token else "Access denied: the credential is unknown or revoked", 403)
    if not auth.valid:
        return None, refuse(f"Access denied: {auth.problem}", 403)
    return auth, None
