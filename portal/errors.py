"""CKAN's error types, raised anywhere in the portal and rendered by the action API."""

from __future__ import annotations


class ActionError(Exception):
    status = 500
    type = "Internal Server Error"

    def __init__(self, message: str, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

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


class ValidationError(ActionError):
    status = 409
    type = "Validation Error"


class SearchQueryError(ActionError):
    status = 400
    type = "Search Query Error"


class BadRequest(ActionError):
    status = 400
    type = "Bad Request"
