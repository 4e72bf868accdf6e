"""Finished orders leave the gateway's read model after the window, and an old duplicate cannot bring one back."""

from __future__ import annotations

from typing import Any, cast

from app.read_model import queries
from app.read_model.pruning import prune_read_model
from tests.app.storefront import Placed, Published, Storefront
from workers.contracts import REGISTRY
from workers.contracts.orders import OrderConfirmed, OrderDelivered, OrderPlaced
from workers.eventing.retention import Housekeeping, RetentionPolicy

EVERYTHING_OLDER_THAN_NOW = 0.0


def test_finished_orders_past_the_window_leave_the_read_model_and_the_rest_stay(own_storefront: Storefront) -> None:
    shop = own_storefront
    product = shop.add_product()
    delivered, confirmed = shop.place_order(product), shop.place_order(product)
    shop.projected(shop.announce_order(OrderDelivered, delivered, version=6))
    shop.projected(shop.announce_order(OrderConfirmed, confirmed, version=2))

    assert prune_read_model(shop.gateway.db, keep_s=EVERYTHING_OLDER_THAN_NOW) == 1

    assert _order_answer(shop, delivered) == 404
    assert _in_read_model(shop, delivered) is False
    assert shop.order(confirmed)["status"] == "confirmed"  # the clerk's console still needs it


def test_finished_orders_inside_the_window_stay(own_storefront: Storefront) -> None:
    shop = own_storefront
    delivered = shop.place_order(shop.add_product())
    shop.projected(shop.announce_order(OrderDelivered, delivered, version=6))

    assert prune_read_model(shop.gateway.db, keep_s=3600) == 0

    assert shop.order(delivered)["status"] == "delivered"


def test_an_order_event_redelivered_after_its_inbox_row_is_gone_does_not_bring_the_order_back(
    own_storefront: Storefront,
) -> None:
    shop = own_storefront
    placed = shop.place_order(shop.add_product())
    first = shop.announce_order(OrderPlaced, placed, version=1)
    shop.projected(shop.announce_order(OrderDelivered, placed, version=6))
    prune_read_model(shop.gateway.db, keep_s=EVERYTHING_OLDER_THAN_NOW)
    windows = RetentionPolicy(stream_keep_s=0, dlq_redrive_s=0, inbox_keep_s=0.001)
    assert Housekeeping(shop.gateway.outbox, shop.redis, windows).prune_inbox() > 0  # the inbox forgot it

    shop.projected(_republish(shop, first))  # the same event again, as a relay that crashed before marking it sent

    assert _in_read_model(shop, placed) is False
    assert _order_answer(shop, placed) == 404


def _republish(shop: Storefront, published: Published) -> Published:
    fields = cast(Any, REGISTRY.encode(published.envelope))
    entry_id = shop.redis.xadd("orders", fields)
    return Published(published.envelope, entry_id.decode() if isinstance(entry_id, bytes) else entry_id)


def _in_read_model(shop: Storefront, placed: Placed) -> bool:
    with shop.gateway.db.snapshot() as conn:
        return queries.order_row(conn, placed.order_id) is not None


def _order_answer(shop: Storefront, placed: Placed) -> int:
    return shop.http.get(f"/api/orders/{placed.order_id}", headers={"X-Order-Token": placed.token}).status_code
