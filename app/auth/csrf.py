"""CSRF protection for browser forms and htmx posts.

A form's token is an HMAC, under the shop's secret key, of the browser's client id
(``app.http.client_id``) and, for a clerk, of the session's own secret. A token therefore
cannot be made up, cannot be carried over from another browser or another session, and
a cookie planted by someone else does not come with a token that fits the victim's
session. Tokens are compared in constant time, and one of any other shape is refused
before it is compared. A post must also not come from another site (``app.http.site``).
The JSON API is covered by ``app.origins`` instead: it takes bearer tokens, not cookies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

from starlette.datastructures import FormData
from starlette.requests import HTTPConnection, Request

from app.http.client_id import CLIENT_COOKIE, client_id, ensure_client_id
from app.http.errors import ApiError
from app.http.site import site

CSRF_COOKIE = CLIENT_COOKIE  # the cookie the token is bound to
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def _token(request: HTTPConnection, client: str) -> str:
    clerk = getattr(request.state, "clerk", None)
    session_secret = clerk.csrf_token if clerk is not None else ""
    key = str(request.app.state.secret_key).encode()
    digest = hmac.new(key, f"csrf\x00{client}\x00{session_secret}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_token(request: Request) -> str:
    """The token for this browser's forms (a client id is made, and set by ``client.remember``, if it has none)."""
    return _token(request, ensure_client_id(request))


def connection_token(conn: HTTPConnection) -> str:
    """The token this browser's pages carry, for forms pushed over its socket ("" when it has no client id)."""
    client = client_id(conn)
    return _token(conn, client) if client else ""


def hx_headers(token: str) -> str:
    """The ``hx-headers`` value: JSON, which the template then escapes for its HTML attribute."""
    return json.dumps({"X-CSRF-Token": token})


async def checked_form(request: Request) -> FormData:
    """The posted form, after the request has proved it comes from our own page."""
    if site(request).from_elsewhere(request):
        raise ApiError(403, "Cross-site requests are not allowed.")
    form = await request.form(max_files=0, max_fields=50, max_part_size=64 * 1024)
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    client = client_id(request)
    if (
        client is None
        or not isinstance(sent, str)
        or not _TOKEN.fullmatch(sent)
        or not hmac.compare_digest(sent, _token(request, client))
    ):
        raise ApiError(403, "The form has expired or did not come from this site; reload the page and try again.")
    return form
