"""A long, varied day at the warehouse: the figures always add up and never go negative."""

from __future__ import annotations

import random

from tests.support.harness import ServiceHarness
from tests.workers.order_snapshots import new_order_id
from tests.workers.warehouse.shop import (
    cancel,
    create_product,
    dispatch,
    place,
    request_restock,
    reservation_of,
    stock_changes,
    stock_of,
)

OPENING = {1: 3, 2: 1, 3: 6}


def test_stock_figures_add_up_after_a_random_day(warehouse: ServiceHarness) -> None:
    rng = random.Random(20240611)  # fixed: a failure must be reproducible
    for product_id, opening in OPENING.items():
        create_product(warehouse, product_id, opening)
    orders: dict[str, list[tuple[int, int]]] = {}
    restocked = dict.fromkeys(OPENING, 0)
    for _ in range(45):
        action = rng.choice(["place", "place", "place", "cancel", "dispatch", "restock"])
        if action == "place":
            order_id = new_order_id()
            orders[order_id] = [(p, rng.randint(1, 3)) for p in rng.sample(sorted(OPENING), rng.randint(1, 2))]
            place(warehouse, order_id, orders[order_id])
        elif action == "cancel" and orders:
            order_id = rng.choice(sorted(orders))
            cancel(warehouse, order_id, orders[order_id])
        elif action == "dispatch" and orders:
            order_id = rng.choice(sorted(orders))
            dispatch(warehouse, order_id, orders[order_id])
        elif action == "restock":
            product_id = rng.choice(sorted(OPENING))
            restocked[product_id] += 2
            request_restock(warehouse, product_id, 2)
        warehouse.run_until_idle()

    held = dict.fromkeys(OPENING, 0)
    shipped = dict.fromkeys(OPENING, 0)
    for order_id, lines in orders.items():
        reservation = reservation_of(warehouse, order_id)
        assert reservation is not None
        for product_id, quantity in lines:
            if reservation["status"] == "held":
                held[product_id] += quantity
            if reservation["status"] == "dispatched":
                shipped[product_id] += quantity
    for product_id, opening in OPENING.items():
        figures = stock_of(warehouse, product_id)
        assert figures is not None
        assert 0 <= figures.reserved <= figures.on_hand
        assert figures.reserved == held[product_id]
        assert figures.on_hand == opening + restocked[product_id] - shipped[product_id]
    assert sum(shipped.values()) > 0, "the day should have dispatched something"
    for change in stock_changes(warehouse):
        assert 0 <= change.reserved <= change.on_hand
        assert change.available == change.on_hand - change.reserved
