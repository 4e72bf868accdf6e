"""Twenty shoppers race for five units: five get one, fifteen are turned away and refunded, nobody oversells."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.waiting import wait_until
from tests.system.conftest import StackFactory
from tests.system.observe import event_ids
from tests.system.shop_client import SETTLED, PlacedOrder, ShopClient

pytestmark = pytest.mark.stack

SHOPPERS = 20
UNITS = 5
CARAFE = 12  # the demo catalog's sold-out product: the test decides how many there are


def test_twenty_concurrent_orders_for_five_units_confirm_exactly_five(start_stack: StackFactory) -> None:
    stack = start_stack()
    start_line = threading.Barrier(SHOPPERS)
    done = threading.Event()

    def buy(_: int) -> PlacedOrder:
        with ShopClient(stack.url) as shopper:
            start_line.wait(timeout=10)
            return shopper.checkout([(CARAFE, 1)])

    def watch() -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        with ShopClient(stack.url) as watcher:
            while not done.wait(0.02):
                carafe = watcher.product(CARAFE)
                seen.append((carafe["on_hand"], carafe["available"]))
        return seen

    with ShopClient(stack.url) as shop, ThreadPoolExecutor(SHOPPERS + 1) as pool:
        shop.login()
        shop.restock(CARAFE, UNITS)
        shop.wait_for_product(CARAFE, on_hand=UNITS, available=UNITS)
        figures = pool.submit(watch)
        try:
            placed = list(pool.map(buy, range(SHOPPERS)))
            orders = [shop.wait_for_status(p, *SETTLED) for p in placed]
            shop.wait_for_product(CARAFE, on_hand=UNITS, available=0)
        finally:
            done.set()
        seen = figures.result()

    by_status: dict[str, list[dict[str, Any]]] = {}
    for order in orders:
        by_status.setdefault(order["status"], []).append(order)
    assert {status: len(found) for status, found in by_status.items()} == {
        "confirmed": UNITS,
        "cancelled": SHOPPERS - UNITS,
    }
    assert all(o["cancel_reason"].startswith("out of stock") for o in by_status["cancelled"])
    assert len(seen) > 1
    assert all(0 <= available <= on_hand <= UNITS for on_hand, available in seen), seen

    cancelled = [o["order_id"] for o in by_status["cancelled"]]
    with stack.redis.client() as client:
        wait_until(
            lambda: all(event_ids(client, "payments", "payment.refunded", order_id) for order_id in cancelled),
            message="not every turned-away shopper was refunded",
        )
        confirmed = by_status["confirmed"]
        assert not any(event_ids(client, "payments", "payment.refunded", o["order_id"]) for o in confirmed)
