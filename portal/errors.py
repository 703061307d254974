"""CKAN's error types, raised anywhere in the portal and rendered by the action API."""

from __future__ import annotations


class ActionError(Exception):
    status = 500
    type = "Internal Server Error"

    def __init__(self, message: str, fields: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}   # of the error answer (a quota's Retry-After)

    def body(self) -> dict:
        out = {"__type": self.type, "message": f"{self.type}: {self.message}" if self.type != "Bad Request"
               else f"Bad request - {self.message}"}
        out.update(self.fields)
        return out


class NotFound(ActionError):
    status = 404
    type = "Not Found Error"


class NotAuthorized(ActionError):
    status = 403
    type = "Authorization Error"


class QuotaExceeded(ActionError):
    status = 429
    type = "Rate Limit Error"


class ValidationError(ActionError):
    status = 409
    type = "Validation Error"


class SearchQueryError(ActionError):
    status = 400
    type = "Search Query Error"


class BadRequest(ActionError):
    status = 400
    type = "Bad Request"


INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def error_response(exc: ActionError):
    """A CKAN error envelope outside the action API (downloads, DCAT, Su Online)."""
    from fastapi.responses import JSONResponse

    return JSONResponse({"success": False, "error": exc.body()}, status_code=exc.status, headers=exc.headers or None)


class ServerErrorGuard:
    """Last resort: an unexpected exception is logged in full and answered with a generic CKAN error,
    so no engine's error text (DuckDB's, SQLite's) ever reaches a client."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            import logging

            logging.getLogger("portal").exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            body = ('{"success":false,"error":{"__type":"Internal Server Error",'
                    '"message":"Internal Server Error: the request could not be answered"}}').encode()
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json;charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
