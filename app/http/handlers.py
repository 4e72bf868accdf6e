"""How errors are answered as JSON, and the two failures every route shares: a client gone, and a bug.

The JSON API is mounted under ``/api`` with ``JSON_HANDLERS`` of its own, so whether an
error is answered as JSON or as a page is decided by where the route is, not by its path.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.http.errors import ApiError, error_body
from workers.eventing.database import Busy

log = logging.getLogger(__name__)


async def json_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = {**exc.headers, **({"WWW-Authenticate": "Bearer"} if exc.status == 401 else {})}
    return JSONResponse(error_body(exc.message, exc.fields), status_code=exc.status, headers=headers)


async def json_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


# How long a client is asked to wait when the database stayed busy past its timeout.
BUSY_RETRY_AFTER_S = 1


def busy(request: Request, exc: Exception) -> ApiError:
    """The 503 a busy database is answered with (the transaction was rolled back: the client may try again)."""
    # Overload, not a fault: one warning, no traceback.
    log.warning("%s %s answered 503: %s", request.method, request.url.path, exc)
    return ApiError(
        503, "The shop is busy; please try again in a moment.", headers={"Retry-After": str(BUSY_RETRY_AFTER_S)}
    )


async def json_busy(request: Request, exc: Exception) -> Response:
    return await json_api_error(request, busy(request, exc))


JSON_HANDLERS: dict[Any, Any] = {ApiError: json_api_error, HTTPException: json_http_error, Busy: json_busy}


async def on_client_disconnect(request: Request, exc: Exception) -> Response:
    # A client that leaves before its request is read is not a fault of ours: one line, no traceback.
    client = request.client.host if request.client else "a client"
    log.info("%s left before its request %s %s was read", client, request.method, request.url.path)
    return Response(status_code=400)  # nobody is there to read it


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    # Never a stack trace to a user: log it with the path, answer with a plain message.
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body("Something went wrong on our side; please try again."), status_code=500)
