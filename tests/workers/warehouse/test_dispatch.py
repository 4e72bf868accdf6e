"""Goods leave the shelf once the order is confirmed and a clerk asked, in whichever order those come."""

from __future__ import annotations

import pytest

from tests.support.harness import ServiceHarness
from tests.workers.order_snapshots import new_order_id
from tests.workers.warehouse.shop import (
    Stock,
    cancel,
    confirm,
    create_product,
    place,
    request_dispatch,
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


@pytest.mark.parametrize("clerk_first", [False, True], ids=["confirmed-first", "requested-first"])
def test_a_confirmed_order_a_clerk_dispatches_leaves_the_shelf(warehouse: ServiceHarness, clerk_first: bool) -> None:
    order_id = _placed_order(warehouse)
    # Separate runs: within one read, the orders stream would be handled before the storefront one.
    if clerk_first:
        request_dispatch(warehouse, order_id)
        warehouse.run_until_idle()
    confirm(warehouse, order_id, LINES)
    warehouse.run_until_idle()
    if not clerk_first:
        request_dispatch(warehouse, order_id)
        warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=3, reserved=0, version=3)
    assert stock_of(warehouse, 2) == Stock(on_hand=0, reserved=0, version=3)
    [completed] = warehouse.published("warehouse", "dispatch.completed")
    assert (completed.data.order_id, completed.data.status) == (order_id, "dispatched")
    assert completed.envelope.aggregate_version == 4  # held, confirmed, requested, dispatched
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


def test_a_request_for_an_unconfirmed_order_waits_for_the_confirmation(warehouse: ServiceHarness) -> None:
    order_id = _placed_order(warehouse)
    request_dispatch(warehouse, order_id)
    warehouse.run_until_idle()

    assert "dispatch.completed" not in types_on(warehouse, "warehouse")
    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=2, version=2)


def test_a_dispatch_request_for_an_unknown_order_is_ignored(warehouse: ServiceHarness) -> None:
    request_dispatch(warehouse, new_order_id())
    warehouse.run_until_idle()

    assert types_on(warehouse, "warehouse") == []
    assert warehouse.client.xlen("dlq") == 0


def test_a_dispatch_request_for_a_cancelled_order_is_ignored(warehouse: ServiceHarness) -> None:
    order_id = _placed_order(warehouse)
    cancel(warehouse, order_id, LINES)
    request_dispatch(warehouse, order_id)
    confirm(warehouse, order_id, LINES)
    warehouse.run_until_idle()

    assert types_on(warehouse, "warehouse") == ["reservation.confirmed", "reservation.released"]
    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=0, version=3)


def test_redelivered_and_repeated_requests_dispatch_once(warehouse: ServiceHarness) -> None:
    order_id = _placed_order(warehouse)
    confirmed = confirm(warehouse, order_id, LINES)
    requested = request_dispatch(warehouse, order_id)
    warehouse.run_until_idle()

    warehouse.redeliver(confirmed)
    warehouse.redeliver(requested)
    request_dispatch(warehouse, order_id)  # the clerk clicks again: a new event, same order
    warehouse.run_until_idle()

    assert len(warehouse.published("warehouse", "dispatch.completed")) == 1
    assert stock_of(warehouse, 1) == Stock(on_hand=3, reserved=0, version=3)
    assert len(stock_changes(warehouse, "dispatch")) == 2
