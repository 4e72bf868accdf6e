"""An order is shown only to whoever holds its token; anyone else cannot even tell that it exists."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from starlette.websockets import WebSocketDisconnect

from app.live.sockets import POLICY_VIOLATION
from tests.app.browser import next_json
from tests.app.storefront import CUSTOMER, Placed, Storefront
from workers.contracts.orders import OrderConfirmed

# Ways to ask for "their" order: with my token (header or query), a made-up one, none, or an empty one.
TokenOf = Callable[[Placed], str | None]
PRYING: dict[str, TokenOf] = {
    "my-token": lambda mine: mine.token,
    "forged-token": lambda _mine: secrets.token_urlsafe(24),
    "no-token": lambda _mine: None,
    "empty-token": lambda _mine: "",
}


def two_orders(storefront: Storefront) -> tuple[Placed, Placed]:
    product = storefront.add_product()
    return storefront.place_order(product), storefront.place_order(product)


@pytest.mark.parametrize("via", ["header", "query"])
@pytest.mark.parametrize("token_of", PRYING.values(), ids=PRYING.keys())
def test_the_json_api_shows_no_one_else_an_order(storefront: Storefront, token_of: TokenOf, via: str) -> None:
    mine, theirs = two_orders(storefront)
    token = token_of(mine)
    headers = {"X-Order-Token": token} if via == "header" and token is not None else {}
    params = {"token": token} if via == "query" and token is not None else {}

    response = storefront.http.get(f"/api/orders/{theirs.order_id}", headers=headers, params=params)

    assert response.status_code == 404
    assert theirs.order_id not in response.text and CUSTOMER["name"] not in response.text


@pytest.mark.parametrize("token_of", PRYING.values(), ids=PRYING.keys())
def test_the_order_page_shows_no_one_else_an_order(storefront: Storefront, token_of: TokenOf) -> None:
    mine, theirs = two_orders(storefront)
    token = token_of(mine)
    params = {"token": token} if token is not None else {}

    response = storefront.http.get(f"/orders/{theirs.order_id}", params=params)

    assert response.status_code == 404
    assert CUSTOMER["name"] not in response.text and CUSTOMER["address"] not in response.text


def test_a_wrong_token_and_an_unknown_order_get_the_same_answer(storefront: Storefront) -> None:
    mine, theirs = two_orders(storefront)
    unknown = "0190a0b0-0000-7000-8000-000000000000"

    wrong = storefront.http.get(f"/api/orders/{theirs.order_id}", headers={"X-Order-Token": mine.token})
    missing = storefront.http.get(f"/api/orders/{unknown}", headers={"X-Order-Token": mine.token})

    assert (wrong.status_code, wrong.json()) == (missing.status_code, missing.json())


@pytest.mark.parametrize("socket", ["/ws/orders", "/live/orders"])
@pytest.mark.parametrize("token_of", PRYING.values(), ids=PRYING.keys())
def test_an_order_socket_refuses_anyone_else(storefront: Storefront, token_of: TokenOf, socket: str) -> None:
    mine, theirs = two_orders(storefront)
    token = token_of(mine)
    query = f"?token={token}" if token is not None else ""

    with pytest.raises(WebSocketDisconnect) as refused:
        storefront.http.websocket_connect(f"{socket}/{theirs.order_id}{query}").__enter__()

    assert refused.value.code == POLICY_VIOLATION


def test_the_owners_own_socket_never_carries_anyone_elses_changes(storefront: Storefront) -> None:
    mine, theirs = two_orders(storefront)

    with storefront.http.websocket_connect(f"/ws/orders/{mine.order_id}?token={mine.token}") as socket:
        assert next_json(socket)["order_id"] == mine.order_id
        storefront.announce_order(OrderConfirmed, theirs, version=2)
        storefront.announce_order(OrderConfirmed, mine, version=2)

        assert next_json(socket)["order_id"] == mine.order_id


def test_the_owner_does_see_the_order(storefront: Storefront) -> None:
    # The other side of the tests above: the token opens its own order everywhere.
    mine, _theirs = two_orders(storefront)

    api = storefront.http.get(f"/api/orders/{mine.order_id}", headers={"X-Order-Token": mine.token})
    page = storefront.http.get(f"/orders/{mine.order_id}", params={"token": mine.token})

    assert (api.status_code, page.status_code) == (200, 200)
    for socket in ("/ws/orders", "/live/orders"):
        with storefront.http.websocket_connect(f"{socket}/{mine.order_id}?token={mine.token}") as opened:
            opened.send_text("hello")
