"""The gateway answers only for its own hosts, and takes forms and sockets only from its own origin."""

from __future__ import annotations

import pytest
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from app.live.sockets import POLICY_VIOLATION
from tests.app.browser import next_message
from tests.app.storefront import CLERK_PASSWORD, CLERK_USER, Storefront
from tests.security.conftest import PUBLIC_URL

FOREIGN_HOST = {"Host": "evil.example"}


@pytest.mark.parametrize("path", ["/", "/warehouse/", "/login", "/api/products", "/healthz"])
def test_a_request_for_another_host_is_refused(storefront: Storefront, path: str) -> None:
    response = storefront.http.get(path, headers=FOREIGN_HOST, follow_redirects=False)

    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("location", "")


def test_a_socket_for_another_host_is_refused(storefront: Storefront) -> None:
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        storefront.http.websocket_connect("/ws/stock", headers=FOREIGN_HOST) as socket,
    ):
        next_message(socket, timeout=2.0)  # opened after all: fail (on the timeout) rather than hang

    assert refused.value.status_code == 400


def login_form(storefront: Storefront, origin: str) -> int:
    token = storefront.page_token("/login")
    form = {"csrf_token": token, "username": CLERK_USER, "password": CLERK_PASSWORD, "next": "/warehouse"}
    response = storefront.http.post("/login", data=form, headers={"Origin": origin}, follow_redirects=False)
    return response.status_code


def test_a_form_from_the_public_origin_is_accepted(public_storefront: Storefront) -> None:
    public_storefront.http.cookies.clear()

    assert login_form(public_storefront, PUBLIC_URL) == 303


@pytest.mark.parametrize("origin", ["https://testserver", "http://testserver:8080", "http://evil.example"])
def test_a_form_from_another_scheme_port_or_host_than_the_public_origin_is_forbidden(
    public_storefront: Storefront, origin: str
) -> None:
    public_storefront.http.cookies.clear()

    assert login_form(public_storefront, origin) == 403


def test_a_socket_from_the_public_origin_opens(public_storefront: Storefront) -> None:
    with public_storefront.http.websocket_connect("/ws/stock", headers={"Origin": PUBLIC_URL}) as socket:
        socket.close()


@pytest.mark.parametrize("origin", ["https://testserver", "http://testserver:8080"])
def test_a_socket_from_another_scheme_or_port_than_the_public_origin_is_refused(
    public_storefront: Storefront, origin: str
) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        public_storefront.http.websocket_connect("/ws/stock", headers={"Origin": origin}) as socket,
    ):
        next_message(socket, timeout=2.0)  # opened after all: fail (on the timeout) rather than hang

    assert refused.value.code == POLICY_VIOLATION
