"""Every route is public by declaration or names the staff role it needs, and staff routes turn everyone else away."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.auth.access import POLICY_VIOLATION, clerks_only, managers_only, public
from app.auth.callers import SESSION_COOKIE
from app.auth.roles import ROLES, may
from tests.app.storefront import Storefront
from tests.security.routes import (
    APP_ROUTES,
    ENDPOINTS,
    MANAGER_ENDPOINTS,
    ROLE_PREFIXES,
    STAFF_ENDPOINTS,
    Endpoint,
    undeclared,
    walk,
)


def test_every_route_is_declared_public_or_names_its_role(storefront: Storefront) -> None:
    assert undeclared(storefront.app.routes) == []
    assert len(list(walk(storefront.app.routes))) == len(ENDPOINTS) >= 20


def test_the_walker_catches_a_route_nobody_declared() -> None:
    async def forgotten(request: Request) -> Response:
        return PlainTextResponse("anyone")

    async def forgotten_socket(websocket: WebSocket) -> None:
        await websocket.accept()

    async def declared(request: Request) -> Response:
        return PlainTextResponse("fine")

    routes = [
        *APP_ROUTES,
        Route("/dummy", forgotten),
        WebSocketRoute("/ws/dummy", forgotten_socket),
        Mount("/admin", routes=[Route("/nested", forgotten), Route("/fine", public(declared))]),
        Mount("/raw", app=Starlette()),
    ]

    assert undeclared(routes) == [
        "http GET,HEAD /dummy",
        "websocket /ws/dummy",
        "http GET,HEAD /admin/nested",
        "other /raw",
    ]
    assert undeclared(APP_ROUTES) == []  # the copy left the app's own routes alone


def test_the_walker_sees_a_guard_under_other_decorators() -> None:
    async def console(request: Request) -> Response:
        return PlainTextResponse("clerks")

    [clerk, manager] = walk(
        [Route("/warehouse/extra", clerks_only(console)), Route("/ops/extra", managers_only(console))]
    )

    assert (clerk.access, manager.access) == ("clerk", "manager")


def test_a_manager_may_do_what_a_clerk_may_and_a_clerk_not_what_a_manager_may() -> None:
    assert may("manager", "clerk") and may("manager", "manager") and may("clerk", "clerk")
    assert not may("clerk", "manager")
    assert not may("shopper", "clerk")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_whatever_is_served_under_a_staff_path_needs_its_role(endpoint: Endpoint) -> None:
    for role, prefixes in ROLE_PREFIXES.items():
        if endpoint.path.startswith(prefixes):
            assert endpoint.access == role, f"{endpoint} is under a {role} path but declared {endpoint.access}"


# -- staff routes turn away everyone who is not staff -----------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who knocks: what they send as a bearer token and as the session cookie."""

    bearer: Callable[[Storefront], str | None] = lambda _storefront: None
    cookie: Callable[[Storefront], str | None] = lambda _storefront: None
    headers: dict[str, str] = field(default_factory=dict)


def ended_session(storefront: Storefront) -> str:
    token = storefront.clerk_token()
    assert storefront.http.post("/api/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    return token


def an_orders_token(storefront: Storefront) -> str:
    return storefront.place_order(storefront.add_product()).token


def forged(_storefront: Storefront) -> str:
    return secrets.token_urlsafe(24)


CALLERS = {
    "anonymous": Caller(),
    "forged-bearer": Caller(bearer=forged),
    "forged-cookie": Caller(cookie=forged),
    "ended-session-bearer": Caller(bearer=ended_session),
    "ended-session-cookie": Caller(cookie=ended_session),
    "order-token-bearer": Caller(bearer=an_orders_token),
    "order-token-cookie": Caller(cookie=an_orders_token),
    "basic-auth": Caller(headers={"Authorization": "Basic Y2xlcms6Y2xlcmstZGV2LXBhc3N3b3Jk"}),
    "empty-bearer": Caller(headers={"Authorization": "Bearer "}),
}

STAFF_CALLS = [(e, m) for e in STAFF_ENDPOINTS for m in (e.methods or ("WEBSOCKET",))]
MANAGER_CALLS = [(e, m) for e in MANAGER_ENDPOINTS for m in (e.methods or ("WEBSOCKET",))]


def knock(storefront: Storefront, endpoint: Endpoint, method: str, caller: Caller) -> httpx2.Response | int:
    """Call ``endpoint`` as ``caller`` (with a valid CSRF token, so only the right staff is missing).

    An HTTP call gives its response; a socket gives the close code of its refused handshake.
    """
    csrf = storefront.page_token("/")
    bearer, cookie = caller.bearer(storefront), caller.cookie(storefront)
    headers = {**caller.headers, "X-CSRF-Token": csrf}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    if cookie is not None:
        storefront.http.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local")
    if method == "WEBSOCKET":
        with pytest.raises(WebSocketDisconnect) as refused:
            storefront.http.websocket_connect(endpoint.sample_path(), headers=headers).__enter__()
        return refused.value.code
    body = {"json": {"quantity": 1}} if endpoint.is_api else {"data": {"csrf_token": csrf, "quantity": "1"}}
    return storefront.http.request(
        method, endpoint.sample_path(), headers=headers, follow_redirects=False, **(body if method == "POST" else {})
    )


@pytest.mark.parametrize("caller", CALLERS.values(), ids=CALLERS.keys())
@pytest.mark.parametrize(("endpoint", "method"), STAFF_CALLS, ids=[f"{m} {e.path}" for e, m in STAFF_CALLS])
def test_a_staff_route_turns_away_anyone_who_is_not_staff(
    storefront: Storefront, endpoint: Endpoint, method: str, caller: Caller
) -> None:
    answer = knock(storefront, endpoint, method, caller)

    if isinstance(answer, int):  # a socket: the handshake is refused
        assert answer == POLICY_VIOLATION
    elif endpoint.is_api:  # the JSON API: 401 and how to authenticate
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"] == "Bearer"
        assert method == "HEAD" or set(answer.json()["error"]) == {"message", "fields"}
    elif method == "GET":  # a page: to the login form, and back here after it
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith("/login?next=")
    else:  # a page's form post (or a HEAD): 401, no redirect that would drop the form
        assert answer.status_code == 401, answer.text


@pytest.mark.parametrize(("endpoint", "method"), MANAGER_CALLS, ids=[f"{m} {e.path}" for e, m in MANAGER_CALLS])
def test_a_manager_route_forbids_a_clerk(storefront: Storefront, endpoint: Endpoint, method: str) -> None:
    if endpoint.is_api:
        token = storefront.clerk_token()
        caller = Caller(bearer=lambda _storefront: token)
    else:
        storefront.browser_login()
        caller = Caller()

    answer = knock(storefront, endpoint, method, caller)

    if isinstance(answer, int):
        assert answer == POLICY_VIOLATION
    else:  # logged in, but not allowed: 403, and no login form that would not help
        assert answer.status_code == 403, answer.text
        assert method == "HEAD" or not endpoint.is_api or set(answer.json()["error"]) == {"message", "fields"}


ALLOWED_CALLS = [(e, m, r) for e, m in STAFF_CALLS for r in ROLES if may(r, str(e.access))]


@pytest.mark.parametrize(
    ("endpoint", "method", "role"), ALLOWED_CALLS, ids=[f"{r} {m} {e.path}" for e, m, r in ALLOWED_CALLS]
)
def test_staff_get_past_the_guard_of_every_route_their_role_may_call(
    storefront: Storefront, endpoint: Endpoint, method: str, role: str
) -> None:
    # The other side of the tests above: the same calls, made by staff whose role grants
    # what the route needs, are not turned away.
    if endpoint.is_api:
        token = storefront.clerk_token(role)
        caller = Caller(bearer=lambda _storefront: token)
    else:
        storefront.browser_login(role)
        caller = Caller()

    if method == "WEBSOCKET":
        with storefront.http.websocket_connect(endpoint.sample_path()) as socket:
            socket.send_text("hello")
        return
    answer = knock(storefront, endpoint, method, caller)
    assert isinstance(answer, httpx2.Response)
    assert answer.status_code not in (401, 403), answer.text
    assert not answer.headers.get("location", "").startswith("/login")


@pytest.mark.parametrize("endpoint", [e for e in STAFF_ENDPOINTS if e.is_api], ids=str)
def test_the_staff_api_ignores_a_session_cookie(storefront: Storefront, endpoint: Endpoint) -> None:
    # A cookie goes with any request a foreign page makes; only a bearer token opens the JSON API.
    storefront.browser_login("manager")

    for method in endpoint.methods:
        body: dict[str, Any] = {"json": {"quantity": 1}} if method == "POST" else {}
        response = storefront.http.request(method, endpoint.sample_path(), **body)
        assert response.status_code == 401, response.text
