"""Who may call a route: every route is public by declaration or names the staff role it needs.

Staff routes deny by default: the guard runs before the endpoint and lets through only
staff whose role grants the one the route needs (``app.auth.roles``; a manager may do what a
clerk may). Staff are recognised by a bearer token on the JSON API and by the session
cookie on pages and sockets. Nobody logged in: 401 (a page's GET goes to the login form);
logged in without the role: 403. ``tests/security`` walks the app's routes and fails on
any route that is neither declared public nor guarded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Literal, TypeVar, get_args
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.websockets import WebSocket

from app.auth import accounts
from app.auth.callers import SESSION_COOKIE, current_clerk, session_policy
from app.auth.roles import ROLES, Role, may
from app.gateway import gateway
from app.http.errors import ApiError

Access = Literal["public", "clerk", "manager"]
ACCESS = "__access__"
POLICY_VIOLATION = 1008
_DECLARED = frozenset(get_args(Access))
assert {"public", *ROLES} == _DECLARED  # every role can be named by a route

E = TypeVar("E", bound=Callable[..., Awaitable[object]])
Endpoint = Callable[[Request], Awaitable[Response]]
SocketEndpoint = Callable[[WebSocket], Awaitable[None]]


def public(endpoint: E) -> E:
    """Declare a route open to anyone."""
    setattr(endpoint, ACCESS, "public")
    return endpoint


def access_of(endpoint: object) -> Access | None:
    """What a route declared: ``public`` or the role it needs; None when it declared nothing."""
    value = getattr(endpoint, ACCESS, None)
    return value if value in _DECLARED else None


async def session_from_cookie(conn: HTTPConnection) -> accounts.Session | None:
    token = conn.cookies.get(SESSION_COOKIE)
    return await run_in_threadpool(accounts.session_for, gateway(conn).db, token, session_policy(conn))


def _plural(role: Role) -> str:
    return f"{role.capitalize()}s"


def requires(role: Role) -> Callable[[Endpoint], Endpoint]:
    """Let only staff whose role grants ``role`` reach the endpoint; they are in ``request.state.clerk``."""

    def guard(endpoint: Endpoint) -> Endpoint:
        @wraps(endpoint)
        async def guarded(request: Request) -> Response:
            if request.url.path.startswith("/api/"):
                session = await current_clerk(request)
                if session is None:
                    raise ApiError(
                        401, f"{_plural(role)} only: log in (POST /api/login) and send Authorization: Bearer <token>."
                    )
            else:
                session = getattr(request.state, "clerk", None) or await session_from_cookie(request)
                if session is None:
                    if request.method == "GET":
                        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
                    raise ApiError(401, f"{_plural(role)} only: log in first.")
            if not may(session.role, role):
                raise ApiError(403, f"{_plural(role)} only: your account ({session.role}) may not do this.")
            request.state.clerk = session
            return await endpoint(request)

        setattr(guarded, ACCESS, role)
        return guarded

    return guard


def requires_socket(role: Role) -> Callable[[SocketEndpoint], SocketEndpoint]:
    """Refuse the handshake unless the browser carries the session of staff whose role grants ``role``."""

    def guard(endpoint: SocketEndpoint) -> SocketEndpoint:
        @wraps(endpoint)
        async def guarded(websocket: WebSocket) -> None:
            session = await session_from_cookie(websocket)
            if session is None or not may(session.role, role):
                await websocket.close(code=POLICY_VIOLATION)
                return
            websocket.state.clerk = session
            await endpoint(websocket)

        setattr(guarded, ACCESS, role)
        return guarded

    return guard


clerks_only = requires("clerk")
clerks_only_socket = requires_socket("clerk")
managers_only = requires("manager")
managers_only_socket = requires_socket("manager")
