"""Who may call a route: every route is public by declaration or for clerks only.

Clerk routes deny by default: the guard runs before the endpoint and lets only a
clerk through (a bearer token on the JSON API, the session cookie on pages and
sockets). ``tests/security`` walks the app's routes and fails on any route that is
neither declared public nor guarded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Literal, TypeVar
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.websockets import WebSocket

from app import clerks
from app.auth import SESSION_COOKIE, current_clerk, session_policy
from app.errors import ApiError
from app.state import gateway

Access = Literal["public", "clerk"]
ACCESS = "__access__"
POLICY_VIOLATION = 1008

E = TypeVar("E", bound=Callable[..., Awaitable[object]])


def public(endpoint: E) -> E:
    """Declare a route open to anyone."""
    setattr(endpoint, ACCESS, "public")
    return endpoint


def access_of(endpoint: object) -> Access | None:
    value = getattr(endpoint, ACCESS, None)
    return value if value in ("public", "clerk") else None


async def session_from_cookie(conn: HTTPConnection) -> clerks.Session | None:
    token = conn.cookies.get(SESSION_COOKIE)
    return await run_in_threadpool(clerks.session_for, gateway(conn).db, token, session_policy(conn))


def clerks_only(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Let only a clerk reach ``endpoint``; the clerk is in ``request.state.clerk``."""

    @wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if request.url.path.startswith("/api/"):
            session = await current_clerk(request)
            if session is None:
                raise ApiError(401, "Clerks only: log in (POST /api/login) and send Authorization: Bearer <token>.")
        else:
            session = getattr(request.state, "clerk", None) or await session_from_cookie(request)
            if session is None:
                if request.method == "GET":
                    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
                raise ApiError(401, "Clerks only: log in first.")
        request.state.clerk = session
        return await endpoint(request)

    setattr(guarded, ACCESS, "clerk")
    return guarded


def clerks_only_socket(endpoint: Callable[[WebSocket], Awaitable[None]]) -> Callable[[WebSocket], Awaitable[None]]:
    """Refuse the handshake unless the browser carries a clerk's session."""

    @wraps(endpoint)
    async def guarded(websocket: WebSocket) -> None:
        session = await session_from_cookie(websocket)
        if session is None:
            await websocket.close(code=POLICY_VIOLATION)
            return
        websocket.state.clerk = session
        await endpoint(websocket)

    setattr(guarded, ACCESS, "clerk")
    return guarded
