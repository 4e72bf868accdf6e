"""A cursor that trimming left behind gets one resync, then the socket goes on live.

Trimming is real (``XTRIM MINID``, exact) on this module's own Redis, and only ever
behind what the gateway's read model has projected, as the retention rule trims.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis

from app.live.resync import has_hole
from tests.app.browser import elements, next_json, next_text
from tests.app.storefront import Placed, Published, Storefront
from tests.support.redis_server import RedisServer
from workers.contracts.orders import OrderConfirmed, OrderDispatched, OrderPlaced, OrderShipped

# -- the rule, on what a real Redis says of its streams ---------------------------------


@pytest.fixture
def client(redis_server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url, decode_responses=True)


def added(client: redis.Redis, stream: str, count: int) -> list[str]:
    return [str(client.xadd(stream, {"n": n})) for n in range(count)]


def hole(client: redis.Redis, stream: str, after: str) -> bool:
    return has_hole(client.xinfo_stream(stream), after)


def test_a_stream_never_trimmed_never_has_a_hole(client: redis.Redis) -> None:
    added(client, "s", 3)

    assert not hole(client, "s", "0-0")
    assert not hole(client, "s", "0-1")


def test_a_cursor_older_than_the_first_entry_left_has_a_hole(client: redis.Redis) -> None:
    ids = added(client, "s", 4)
    client.xtrim("s", minid=ids[2], approximate=False)

    assert hole(client, "s", "0-0")
    assert hole(client, "s", ids[0])
    assert hole(client, "s", ids[1])  # Redis 7.0 cannot say the trim stopped right after it


def test_a_cursor_still_on_the_stream_or_newer_has_none(client: redis.Redis) -> None:
    ids = added(client, "s", 4)
    client.xtrim("s", minid=ids[2], approximate=False)
    ms, seq = ids[3].split("-")

    assert not hole(client, "s", ids[2])
    assert not hole(client, "s", ids[3])
    assert not hole(client, "s", f"{ms}-{int(seq) + 1}")
    assert not hole(client, "s", "99999999999999-0")


def test_an_emptied_stream_has_a_hole_before_its_last_id_only(client: redis.Redis) -> None:
    ids = added(client, "s", 2)
    client.xtrim("s", maxlen=0, approximate=False)

    assert hole(client, "s", ids[0])
    assert not hole(client, "s", ids[1])


# -- the sockets ------------------------------------------------------------------------


def trim_before(storefront: Storefront, kept: Published, stream: str) -> None:
    """Trim ``stream`` up to ``kept`` (exclusive), once the read model has projected ``kept``."""
    storefront.projected(kept)
    storefront.redis.xtrim(stream, minid=kept.entry_id, approximate=False)


def rendered_stock_at(storefront: Storefront) -> str:
    return str(storefront.http.get("/api/products").json()["stream_id"])


def test_a_stock_socket_whose_cursor_was_trimmed_away_resyncs_then_goes_live(storefront: Storefront) -> None:
    product, other = storefront.add_product(on_hand=10), storefront.add_product(on_hand=10)
    cursor = rendered_stock_at(storefront)
    storefront.change_stock(product, on_hand=10, reserved=1, version=2, cause="reserve", delta_available=-1)
    kept = storefront.change_stock(other, on_hand=11, version=2, delta_on_hand=1)
    trim_before(storefront, kept, "stock")

    with storefront.http.websocket_connect(f"/ws/stock?after={cursor}") as socket:
        resync = next_json(socket)
        live = storefront.change_stock(product, on_hand=12, reserved=1, version=3, delta_on_hand=2)
        message = next_json(socket)

    assert resync == {"type": "resync", "stream_id": kept.entry_id}  # where the read model is
    assert (message["type"], message["stream_id"]) == ("stock.changed", live.entry_id)


def test_a_stock_socket_whose_cursor_is_still_on_the_stream_replays_without_a_resync(
    storefront: Storefront,
) -> None:
    product = storefront.add_product(on_hand=10)
    storefront.change_stock(product, on_hand=10, reserved=1, version=2, cause="reserve", delta_available=-1)
    kept = storefront.change_stock(product, on_hand=10, reserved=2, version=3, cause="reserve", delta_available=-1)
    after = storefront.change_stock(product, on_hand=10, reserved=3, version=4, cause="reserve", delta_available=-1)
    trim_before(storefront, kept, "stock")

    with storefront.http.websocket_connect(f"/ws/stock?after={kept.entry_id}") as socket:
        message = next_json(socket)

    assert (message["type"], message["stream_id"]) == ("stock.changed", after.entry_id)


def order_after_a_trim(storefront: Storefront) -> tuple[Placed, Published, Published]:
    """An order whose confirmation was trimmed away: the order, a cursor from before, and the entry kept."""
    placed = storefront.place_order(storefront.add_product())
    placed_event = storefront.announce_order(OrderPlaced, placed, version=1)
    storefront.announce_order(OrderConfirmed, placed, version=2)
    kept = storefront.announce_order(OrderDispatched, placed, version=3)
    trim_before(storefront, kept, "orders")
    return placed, placed_event, kept


def test_an_order_socket_whose_cursor_was_trimmed_away_resyncs_then_goes_live(storefront: Storefront) -> None:
    placed, cursor, kept = order_after_a_trim(storefront)

    path = f"/ws/orders/{placed.order_id}?token={placed.token}&after={cursor.entry_id}"
    with storefront.http.websocket_connect(path) as socket:
        resync = next_json(socket)
        shipped = storefront.announce_order(OrderShipped, placed, version=4)
        message = next_json(socket)

    assert resync == {"type": "resync", "stream_id": kept.entry_id}
    assert (message["status"], message["stream_id"]) == ("shipped", shipped.entry_id)


def test_the_shop_socket_resyncs_with_every_figure_from_the_read_model(storefront: Storefront) -> None:
    product, other = storefront.add_product(on_hand=10), storefront.add_product(on_hand=10)
    cursor = rendered_stock_at(storefront)
    storefront.change_stock(product, on_hand=7, version=2, cause="dispatch", delta_on_hand=-3)
    kept = storefront.change_stock(other, on_hand=11, version=2, delta_on_hand=1)
    trim_before(storefront, kept, "stock")

    with storefront.http.websocket_connect(f"/live/shop?after={cursor}") as socket:
        resync = elements(next_text(socket))
        live = storefront.change_stock(product, on_hand=6, version=3, cause="dispatch", delta_on_hand=-1)
        pushed = elements(next_text(socket))

    # The trimmed dispatch is there, from the read model, swapped in by id: no page reload.
    assert (resync.text[f"stock-{product.id}"], resync.text[f"stock-{other.id}"]) == ("7", "11")
    assert resync.attrs[f"figures-{product.id}"]["hx-swap-oob"] == "true"
    assert resync.attrs["cursor-stock"]["data-after"] == kept.entry_id
    assert "cart-count" not in resync.attrs  # the cart is left alone
    assert (pushed.text[f"stock-{product.id}"], pushed.attrs["cursor-stock"]["data-after"]) == ("6", live.entry_id)


def test_the_order_page_socket_resyncs_with_the_orders_timeline(storefront: Storefront) -> None:
    placed, cursor, kept = order_after_a_trim(storefront)

    path = f"/live/orders/{placed.order_id}?token={placed.token}&after={cursor.entry_id}"
    with storefront.http.websocket_connect(path) as socket:
        resync = elements(next_text(socket))
        shipped = storefront.announce_order(OrderShipped, placed, version=4)
        pushed = elements(next_text(socket))

    assert resync.text["order-status"] == "dispatched"
    assert resync.attrs[f"order-{placed.order_id}"]["hx-swap-oob"] == "true"
    assert resync.attrs["cursor-orders"]["data-after"] == kept.entry_id
    assert (pushed.text["order-status"], pushed.attrs["cursor-orders"]["data-after"]) == ("shipped", shipped.entry_id)


def test_the_console_socket_resyncs_its_figures_and_order_lists(storefront: Storefront) -> None:
    product = storefront.add_product(on_hand=10)
    storefront.browser_login()
    page = elements(storefront.http.get("/warehouse").text).attrs
    placed = storefront.place_order(product)
    storefront.announce_order(OrderPlaced, placed, version=1)
    kept_order = storefront.announce_order(OrderConfirmed, placed, version=2)
    storefront.change_stock(product, on_hand=10, reserved=1, version=2, cause="reserve", delta_available=-1)
    kept_stock = storefront.change_stock(product, on_hand=10, reserved=2, version=3, cause="reserve")
    trim_before(storefront, kept_order, "orders")
    trim_before(storefront, kept_stock, "stock")

    path = f"/live/console?stock={page['cursor-stock']['data-after']}&orders={page['cursor-orders']['data-after']}"
    with storefront.http.websocket_connect(path) as socket:
        resync = elements(next_text(socket))

    assert (resync.text[f"row-reserved-{product.id}"], resync.text[f"row-available-{product.id}"]) == ("2", "8")
    assert resync.attrs["ready-orders"]["hx-swap-oob"] == "true"
    assert resync.buttons[f"ready-{placed.order_id}"] == ["Dispatch"]
    assert resync.attrs["recent-orders"]["hx-swap-oob"] == "true"
    positions: dict[str, Any] = {s: resync.attrs[f"cursor-{s}"]["data-after"] for s in ("stock", "orders")}
    assert positions == {"stock": kept_stock.entry_id, "orders": kept_order.entry_id}


def test_a_socket_on_a_stream_never_trimmed_replays_from_its_oldest_cursor(
    own_storefront: Storefront,
) -> None:
    product = own_storefront.add_product(on_hand=10)

    with own_storefront.http.websocket_connect("/ws/stock?after=0-0") as socket:
        first = next_json(socket)

    assert (first["type"], first["product_id"]) == ("stock.changed", product.id)
