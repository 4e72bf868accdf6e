"""Errors a client can act on: a status, a message and, for bad input, the fields at fault."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger(__name__)


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


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if not request.url.path.startswith("/api/"):
        from app.shop.templates import render  # here, not at the top: app.web imports modules that import this one

        page = render(request, "error.html", {"message": exc.message, "errors": exc.fields}, exc.status)
        page.headers.update(exc.headers)
        return page
    headers = {**exc.headers, **({"WWW-Authenticate": "Bearer"} if exc.status == 401 else {})}
    return JSONResponse(error_body(exc.message, exc.fields), status_code=exc.status, headers=headers)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith(("/api/", "/static/")) and request.method == "GET":
        from app.shop.templates import render

        return render(request, "error.html", {"message": str(exc.detail)}, exc.status_code)
    return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


async def on_client_disconnect(request: Request, exc: Exception) -> Response:
    # A client that leaves before its request is read is not a fault of ours: one line, no traceback.
    client = request.client.host if request.client else "a client"
    log.info("%s left before its request %s %s was read", client, request.method, request.url.path)
    return Response(status_code=400)  # nobody is there to read it


# How long a client is asked to wait when the database stayed busy past its timeout.
BUSY_RETRY_AFTER_S = 1


async def on_busy(request: Request, exc: Exception) -> Response:
    # Overload, not a fault: the transaction was rolled back; the client may simply try again.
    log.warning("%s %s answered 503: %s", request.method, request.url.path, exc)
    busy = ApiError(
        503, "The shop is busy; please try again in a moment.", headers={"Retry-After": str(BUSY_RETRY_AFTER_S)}
    )
    return await on_api_error(request, busy)


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    # Never a stack trace to a user: log it with the path, answer with a plain message.
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body("Something went wrong on our side; please try again."), status_code=500)
