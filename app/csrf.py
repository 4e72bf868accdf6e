"""CSRF protection for browser forms and htmx posts.

A per-browser token lives in an HttpOnly cookie and is rendered into every form
(and into ``hx-headers`` for htmx); a post must bring it back, and must not come
from another site (``Sec-Fetch-Site``, ``Origin``). The JSON API is not covered:
it authenticates with bearer tokens, which a foreign site cannot send.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from app.errors import ApiError
from app.site import site

CSRF_COOKIE = "storefront_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def csrf_token(request: Request) -> str:
    """This browser's token (a new one is made, and set by ``remember``, if it has none)."""
    token = getattr(request.state, "csrf_token", None) or request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(24)
    request.state.csrf_token = token
    return str(token)


def rotate(request: Request) -> str:
    """A fresh token (at login and logout)."""
    request.state.csrf_token = secrets.token_urlsafe(24)
    return str(request.state.csrf_token)


def remember(request: Request, response: Response) -> None:
    token = getattr(request.state, "csrf_token", None)
    if token and token != request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
        )


async def checked_form(request: Request) -> FormData:
    """The posted form, after the request has proved it comes from our own page."""
    if site(request).from_elsewhere(request):
        raise ApiError(403, "Cross-site requests are not allowed.")
    form = await request.form(max_files=0, max_fields=50, max_part_size=64 * 1024)
    sent: Any = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    expected = request.cookies.get(CSRF_COOKIE)
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise ApiError(403, "The form has expired or did not come from this site; reload the page and try again.")
    return form
