"""The projector is a process of its own: killed mid-load, its read model catches up after the restart.

While it is down the web process goes on taking checkouts (and publishing them), the
workers go on confirming them, and only the read model stands still; after the restart
every order and every product shows exactly what its latest event on the streams says.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from tests.support.waiting import wait_until
from tests.system.conftest import StackFactory
from tests.system.observe import events
from tests.system.shop_client import SETTLED, PlacedOrder, ShopClient

pytestmark = pytest.mark.stack

ORDERS = 40
KILL_AFTER = 10  # orders placed before the kill
RESTART_AFTER = 25  # orders placed by the time the projector is started again
PRODUCTS = (1, 2, 3, 4)
DEADLINE_S = 60.0


def latest(client: redis.Redis, stream: str, key: str) -> dict[Any, dict[str, Any]]:
    """The newest snapshot (highest aggregate version) per ``data[key]`` on ``stream``: the truth."""
    newest: dict[Any, dict[str, Any]] = {}
    for event in events(client, stream):
        found = newest.get(event["data"][key])
        if found is None or event["aggregate_version"] > found["aggregate_version"]:
            newest[event["data"][key]] = event
    return newest


def truth(client: redis.Redis, placed: list[PlacedOrder]) -> dict[str, Any]:
    """Each order's status and version and each product's figures, as their latest events say."""
    orders, stock = latest(client, "orders", "order_id"), latest(client, "stock", "product_id")
    return {
        "orders": {
            p.order_id: (orders[p.order_id]["data"]["status"], orders[p.order_id]["aggregate_version"]) for p in placed
        },
        "products": {i: (stock[i]["data"]["on_hand"], stock[i]["data"]["available"]) for i in PRODUCTS},
    }


def shown(shop: ShopClient, placed: list[PlacedOrder]) -> dict[str, Any]:
    """The same, as the gateway's read model shows it through the API."""
    products = shop.products()
    return {
        "orders": {p.order_id: (o["status"], o["version"]) for p in placed for o in [shop.order(p)]},
        "products": {i: (products[i]["on_hand"], products[i]["available"]) for i in PRODUCTS},
    }


def test_the_read_model_catches_up_with_nothing_lost_after_the_projector_is_killed_mid_load(
    start_stack: StackFactory,
) -> None:
    stack = start_stack()
    client = redis.Redis(host="127.0.0.1", port=stack.redis.port)
    placed: list[PlacedOrder] = []

    def shop_steadily() -> None:
        with ShopClient(stack.url) as shopper:
            for n in range(ORDERS):
                placed.append(shopper.checkout([(PRODUCTS[n % len(PRODUCTS)], 1)]))
                time.sleep(0.05)  # a steady trickle, so the kill and restart fall mid-load

    with ShopClient(stack.url) as shop, ThreadPoolExecutor(1) as pool:
        loader = pool.submit(shop_steadily)
        wait_until(lambda: len(placed) >= KILL_AFTER or loader.done(), DEADLINE_S, "the first orders placed")
        stack.signal("projector", signal.SIGKILL)
        wait_until(lambda: len(placed) >= RESTART_AFTER or loader.done(), DEADLINE_S, "orders placed while down")

        # The orders service has settled an order placed while the projector is down; the read model has not.
        during = placed[-1]
        wait_until(
            lambda: (
                latest(client, "orders", "order_id").get(during.order_id, {}).get("data", {}).get("status") in SETTLED
            ),
            DEADLINE_S,
            "the orders service to settle an order placed while the projector is down",
        )
        assert shop.order(during)["status"] == "pending"

        stack.restart("projector")
        loader.result(timeout=DEADLINE_S)  # every checkout answered 202, before, during and after
        assert len(placed) == ORDERS

        for order in placed:
            shop.wait_for_status(order, *SETTLED, timeout=DEADLINE_S)
        # Settled orders still move stock (a cancellation releases it): compare once nothing differs.
        wait_until(
            lambda: shown(shop, placed) == truth(client, placed), DEADLINE_S, "the read model to match the streams"
        )
        assert shown(shop, placed) == truth(client, placed)
        wait_until(lambda: shop.http.get("/healthz").status_code == 200, DEADLINE_S, "healthz with the projector back")
    client.close()
