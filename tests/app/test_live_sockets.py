"""Who may open which socket, and what the order and page sockets send."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from app.live.feed import MAX_CLIENT_MESSAGE, MAX_CLIENT_MESSAGES_PER_S
from app.live.sockets import POLICY_VIOLATION
from app.read_model import queries
from app.read_model.stream_ids import id_key
from tests.app.browser import elements, next_json, next_message, next_text, text_of
from tests.app.storefront import Placed, Published, Storefront
from workers.contracts.orders import OrderConfirmed, OrderDispatched, OrderPlaced


def test_an_order_socket_sends_the_current_status_then_each_change(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())
    other = storefront.place_order(storefront.add_product())

    with storefront.http.websocket_connect(f"/ws/orders/{placed.order_id}?token={placed.token}") as socket:
        current = next_json(socket)
        storefront.announce_order(OrderConfirmed, other, version=2)  # not this socket's business
        confirmed = storefront.announce_order(OrderConfirmed, placed, version=2)
        dispatched = storefront.announce_order(OrderDispatched, placed, version=3)

        changes = [next_json(socket), next_json(socket)]

    assert (current["order_id"], current["status"]) == (placed.order_id, "pending")
    assert id_key(current["stream_id"]) < id_key(confirmed.entry_id)
    assert changes == [
        {
            "type": "order.confirmed",
            "order_id": placed.order_id,
            "status": "confirmed",
            "stream_id": confirmed.entry_id,
            "event_id": confirmed.envelope.id,
        },
        {
            "type": "order.dispatched",
            "order_id": placed.order_id,
            "status": "dispatched",
            "stream_id": dispatched.entry_id,
            "event_id": dispatched.envelope.id,
        },
    ]


def test_an_order_socket_replays_after_its_cursor(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())
    placed_event = storefront.announce_order(OrderPlaced, placed, version=1)
    confirmed = storefront.announce_order(OrderConfirmed, placed, version=2)

    path = f"/ws/orders/{placed.order_id}?token={placed.token}&after={placed_event.entry_id}"
    with storefront.http.websocket_connect(path) as socket:
        message = next_json(socket)

    assert (message["status"], message["stream_id"]) == ("confirmed", confirmed.entry_id)


@pytest.mark.parametrize("token", ["wrong", ""], ids=["wrong-token", "empty-token"])
def test_an_order_socket_needs_the_orders_token(storefront: Storefront, token: str) -> None:
    placed = storefront.place_order(storefront.add_product())

    with pytest.raises(WebSocketDisconnect) as refused:
        storefront.http.websocket_connect(f"/ws/orders/{placed.order_id}?token={token}").__enter__()

    assert refused.value.code == POLICY_VIOLATION


def test_an_order_socket_without_a_token_is_refused(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())

    with pytest.raises(WebSocketDisconnect):
        storefront.http.websocket_connect(f"/ws/orders/{placed.order_id}").__enter__()


def test_a_token_opens_no_other_orders_socket(storefront: Storefront) -> None:
    product = storefront.add_product()
    mine, theirs = storefront.place_order(product), storefront.place_order(product)

    with pytest.raises(WebSocketDisconnect):
        storefront.http.websocket_connect(f"/ws/orders/{theirs.order_id}?token={mine.token}").__enter__()


@pytest.mark.parametrize("path", ["/ws/stock", "/live/shop", "/live/console"])
def test_a_page_of_another_site_cannot_open_a_socket(storefront: Storefront, path: str) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        storefront.http.websocket_connect(path, headers={"Origin": "http://evil.example"}).__enter__()

    assert refused.value.code == POLICY_VIOLATION


def test_a_page_of_another_site_cannot_follow_an_order(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())

    with pytest.raises(WebSocketDisconnect):
        storefront.http.websocket_connect(
            f"/ws/orders/{placed.order_id}?token={placed.token}", headers={"Origin": "http://evil.example"}
        ).__enter__()


def test_our_own_pages_open_sockets(storefront: Storefront) -> None:
    product = storefront.add_product()
    rendered_at = storefront.http.get("/api/products").json()["stream_id"]
    change = storefront.change_stock(
        product, on_hand=9, version=2, cause="dispatch", delta_on_hand=-1, delta_available=0
    )

    with storefront.http.websocket_connect(
        f"/ws/stock?after={rendered_at}", headers={"Origin": "http://testserver"}
    ) as socket:
        assert next_json(socket)["stream_id"] == change.entry_id


def test_the_shop_socket_pushes_the_figures_the_page_shows_by_element_id(storefront: Storefront) -> None:
    product = storefront.add_product(on_hand=10)
    rendered_at = storefront.http.get("/api/products").json()["stream_id"]
    change = storefront.change_stock(
        product, on_hand=10, reserved=3, version=2, cause="reserve", delta_available=-3, order_id="o-2"
    )

    with storefront.http.websocket_connect(f"/live/shop?after={rendered_at}") as socket:
        html = next_text(socket)

    pushed = elements(html)
    assert pushed.attrs[f"figures-{product.id}"]["hx-swap-oob"] == "true"
    assert pushed.text[f"stock-{product.id}"] == "10"
    assert pushed.text[f"available-{product.id}"] == "7"
    assert pushed.attrs["cursor-stock"]["data-after"] == change.entry_id


def test_the_console_socket_is_for_clerks_only(storefront: Storefront) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        storefront.http.websocket_connect("/live/console").__enter__()

    assert refused.value.code == POLICY_VIOLATION


def test_the_console_socket_pushes_new_confirmed_orders_to_a_clerk(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())
    storefront.browser_login()
    page = storefront.http.get("/warehouse")
    orders_at = elements(page.text).attrs["cursor-orders"]["data-after"]
    confirmed = storefront.announce_order(OrderConfirmed, placed, version=2)

    with storefront.http.websocket_connect(f"/live/console?orders={orders_at}") as socket:
        html = next_text(socket)

    pushed = elements(html)
    assert pushed.buttons[f"ready-{placed.order_id}"] == ["Dispatch"]
    assert pushed.attrs["cursor-orders"]["data-after"] == confirmed.entry_id


def confirm_while_reading(storefront: Storefront, monkeypatch: pytest.MonkeyPatch, placed: Placed) -> list[Published]:
    """Have the order confirmed (and projected) just as the gateway has read it for its owner.

    This is the worst moment for a page or socket that shows the order together with the
    stream position it reflects; the returned list gets the confirmation once it happened.
    """
    confirmations: list[Published] = []
    original = queries.order_view

    def order_view(row: Any) -> dict[str, Any]:
        view = original(row)
        if row.order_id == placed.order_id and not confirmations:
            confirmations.append(storefront.announce_order(OrderConfirmed, placed, version=2))
            storefront.projected(confirmations[0])
        return view

    monkeypatch.setattr(queries, "order_view", order_view)
    return confirmations


def test_an_order_socket_misses_no_change_projected_while_it_opens(
    storefront: Storefront, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = storefront.place_order(storefront.add_product())
    confirmations = confirm_while_reading(storefront, monkeypatch, placed)

    with storefront.http.websocket_connect(f"/ws/orders/{placed.order_id}?token={placed.token}") as socket:
        statuses = [next_json(socket)["status"]]
        if statuses[0] != "confirmed":
            statuses.append(next_json(socket, timeout=3)["status"])

    assert confirmations
    assert statuses[-1] == "confirmed"


def test_an_order_page_is_rendered_with_the_position_it_reflects(
    storefront: Storefront, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = storefront.place_order(storefront.add_product())
    confirmations = confirm_while_reading(storefront, monkeypatch, placed)

    page = storefront.http.get(f"/orders/{placed.order_id}", params={"token": placed.token})

    [confirmed] = confirmations
    shown = text_of(page.text, "order-status")
    cursor = elements(page.text).attrs["cursor-orders"]["data-after"] or ""
    # Either the page shows the confirmation, or its socket will replay it from the cursor.
    assert shown == "confirmed" or id_key(cursor) < id_key(confirmed.entry_id)


def test_a_client_that_sends_an_oversized_message_is_disconnected(storefront: Storefront) -> None:
    with storefront.http.websocket_connect("/ws/stock") as socket:
        socket.send_text("x" * (MAX_CLIENT_MESSAGE + 1))

        closed = next_message(socket)

    assert (closed["type"], closed["code"]) == ("websocket.close", 1009)


def test_a_client_that_floods_the_socket_is_disconnected(storefront: Storefront) -> None:
    with storefront.http.websocket_connect("/ws/stock") as socket:
        for _ in range(MAX_CLIENT_MESSAGES_PER_S + 1):
            socket.send_text("ping")

        closed = next_message(socket)

    assert (closed["type"], closed["code"]) == ("websocket.close", POLICY_VIOLATION)
