"""The browser's client id: a random value in an HttpOnly cookie, set on the first page it gets.

It is what a browser's CSRF tokens are bound to (``app.auth.csrf``) and the scope of its
idempotency keys (``app.shop.order_placement``). Only a value of the shape we hand out is believed;
anything else (a planted ``x"}<b>``) is treated as no cookie, and a new id is set.
"""

from __future__ import annotations

import re
import secrets

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from app.http.cookies import set_cookie

CLIENT_COOKIE = "storefront_client"
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{32}")


def client_id(conn: HTTPConnection) -> str | None:
    """The id the request's cookie carries, if it is well formed."""
    value = conn.cookies.get(CLIENT_COOKIE, "")
    return value if _CLIENT_ID.fullmatch(value) else None


def ensure_client_id(request: Request) -> str:
    """This browser's id; a new one (set on the response by ``remember``) if it has none."""
    known: str | None = getattr(request.state, "client_id", None) or client_id(request)
    if known is None:
        known = secrets.token_urlsafe(24)
        request.state.new_client_id = known
    request.state.client_id = known
    return known


def remember(request: Request, response: Response) -> None:
    """Set the cookie on ``response`` if this request made a new id."""
    new = getattr(request.state, "new_client_id", None)
    if new:
        set_cookie(request, response, CLIENT_COOKIE, new)


def scope(conn: HTTPConnection) -> str:
    """Whose idempotency keys a request uses: its client cookie's, else its address's.

    A key sent from another client is another key, so it can never return someone else's order.
    """
    known = client_id(conn)
    if known is not None:
        return f"client:{known}"
    return f"address:{conn.client.host if conn.client else 'unknown'}"
