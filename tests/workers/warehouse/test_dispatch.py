"""Goods leave the shelf when the orders service says the order is dispatched, and only then."""

from __future__ import annotations

from tests.support.harness import ServiceHarness
from tests.workers.order_snapshots import new_order_id
from tests.workers.warehouse.shop import (
    Stock,
    cancel,
    confirm,
    create_product,
    dispatch,
    place,
    stock_changes,
    stock_of,
    types_on,
)

LINES = [(1, 2), (2, 1)]


def _placed_order(warehouse: ServiceHarness) -> str:
    order_id = new_order_id()
    create_product(warehouse, 1, opening_stock=5)
    create_product(warehouse, 2, opening_stock=1)
    place(warehouse, order_id, LINES)
    warehouse.run_until_idle()
    return order_id


def test_a_dispatched_order_leaves_the_shelf(warehouse: ServiceHarness) -> None:
    order_id = _placed_order(warehouse)
    confirm(warehouse, order_id, LINES)
    dispatch(warehouse, order_id, LINES)
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=3, reserved=0, version=3)
    assert stock_of(warehouse, 2) == Stock(on_hand=0, reserved=0, version=3)
    [completed] = warehouse.published("warehouse", "dispatch.completed")
    assert (completed.data.order_id, completed.data.status) == (order_id, "dispatched")
    assert completed.envelope.aggregate_version == 2  # held, dispatched
    dispatches = stock_changes(warehouse, "dispatch")
    assert [(c.product_id, c.on_hand, c.available, c.order_id) for c in dispatches] == [
        (1, 3, 3, order_id),
        (2, 0, 0, order_id),
    ]
    assert [(c.delta.on_hand, c.delta.available) for c in dispatches] == [(-2, 0), (-1, 0)]


def test_a_confirmation_alone_dispatches_nothing(warehouse: ServiceHarness) -> None:
    order_id = _placed_order(warehouse)
    confirm(warehouse, order_id, LINES)
    warehouse.run_until_idle()

    assert "dispatch.completed" not in types_on(warehouse, "warehouse")
    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=2, version=2)


def test_a_dispatch_of_an_unknown_order_is_ignored(warehouse: ServiceHarness) -> None:
    dispatch(warehouse, new_order_id(), LINES)
    warehouse.run_until_idle()

    assert types_on(warehouse, "warehouse") == []
    assert warehouse.client.xlen("dlq") == 0


def test_a_dispatch_after_the_release_takes_nothing(warehouse: ServiceHarness) -> None:
    order_id = _placed_order(warehouse)
    cancel(warehouse, order_id, LINES)
    warehouse.run_until_idle()
    dispatch(warehouse, order_id, LINES)
    warehouse.run_until_idle()

    assert types_on(warehouse, "warehouse") == ["reservation.confirmed", "reservation.released"]
    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=0, version=3)


def test_a_redelivered_dispatch_takes_the_goods_once(warehouse: ServiceHarness) -> None:
    order_id = _placed_order(warehouse)
    dispatched = dispatch(warehouse, order_id, LINES)
    warehouse.run_until_idle()

    warehouse.redeliver(dispatched)
    warehouse.run_until_idle()

    assert len(warehouse.published("warehouse", "dispatch.completed")) == 1
    assert stock_of(warehouse, 1) == Stock(on_hand=3, reserved=0, version=3)
    assert len(stock_changes(warehouse, "dispatch")) == 2
