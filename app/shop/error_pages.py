"""Errors on the pages' side answered as a page: the message, and for bad input the fields at fault.

A form post or a static file that fails gets the JSON answer instead (no page to show it in).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.http.errors import ApiError
from app.http.handlers import busy, json_http_error
from app.shop.templates import render
from workers.eventing.database import Busy


async def page_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    page = render(request, "error.html", {"message": exc.message, "errors": exc.fields}, exc.status)
    page.headers.update(exc.headers)
    return page


async def page_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.method == "GET" and not request.url.path.startswith("/static/"):
        return render(request, "error.html", {"message": str(exc.detail)}, exc.status_code)
    return await json_http_error(request, exc)


async def page_busy(request: Request, exc: Exception) -> Response:
    return await page_api_error(request, busy(request, exc))


PAGE_HANDLERS: dict[Any, Any] = {ApiError: page_api_error, HTTPException: page_http_error, Busy: page_busy}
