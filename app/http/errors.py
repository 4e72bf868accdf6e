"""Errors a client can act on: a status, a message and, for bad input, the fields at fault.

Only the types and the JSON shape live here; how an error is answered is the handlers'
job (``app.http.handlers`` for the JSON API, ``app.shop.error_pages`` for the pages).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised by a route to answer with ``{"error": {"message", "fields"}}``."""

    def __init__(
        self, status: int, message: str, fields: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}


class InvalidInput(ApiError):
    """A 422 naming every field that is wrong."""

    def __init__(self, fields: dict[str, str], message: str = "The request has invalid fields.") -> None:
        super().__init__(422, message, fields)


def error_body(message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "fields": fields or {}}}
