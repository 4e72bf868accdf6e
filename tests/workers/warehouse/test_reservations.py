"""An order gets every unit it asks for or none, and a cancelled order gives them back."""

from __future__ import annotations

from tests.support.harness import ServiceHarness
from tests.workers.order_snapshots import new_order_id
from tests.workers.warehouse.shop import (
    Stock,
    cancel,
    create_product,
    place,
    reservation_of,
    stock_changes,
    stock_of,
    types_on,
)
from workers.contracts.common import Quantity


def test_a_placed_order_reserves_every_line(warehouse: ServiceHarness) -> None:
    order_id = new_order_id()
    create_product(warehouse, 1, opening_stock=5)
    create_product(warehouse, 2, opening_stock=3)
    place(warehouse, order_id, [(1, 2), (2, 3)])
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=2, version=2)
    assert stock_of(warehouse, 2) == Stock(on_hand=3, reserved=3, version=2)
    [confirmed] = warehouse.published("warehouse", "reservation.confirmed")
    assert confirmed.data.order_id == order_id
    assert confirmed.data.status == "held"
    assert confirmed.data.lines == [Quantity(product_id=1, quantity=2), Quantity(product_id=2, quantity=3)]
    assert (confirmed.envelope.aggregate_id, confirmed.envelope.aggregate_version) == (order_id, 1)
    reserves = stock_changes(warehouse, "reserve")
    assert [(c.product_id, c.on_hand, c.reserved, c.available, c.order_id) for c in reserves] == [
        (1, 5, 2, 3, order_id),
        (2, 3, 3, 0, order_id),
    ]
    assert [(c.delta.on_hand, c.delta.available) for c in reserves] == [(0, -2), (0, -3)]
    assert [r.envelope.aggregate_version for r in warehouse.published("stock")][-2:] == [2, 2]


def test_lines_of_the_same_product_are_reserved_together(warehouse: ServiceHarness) -> None:
    create_product(warehouse, 1, opening_stock=5)
    place(warehouse, new_order_id(), [(1, 1), (1, 2)])
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=3, version=2)
    [change] = stock_changes(warehouse, "reserve")
    assert change.delta.available == -3


def test_an_order_with_one_short_line_reserves_nothing(warehouse: ServiceHarness) -> None:
    order_id = new_order_id()
    create_product(warehouse, 1, opening_stock=5)
    create_product(warehouse, 2, opening_stock=1)
    place(warehouse, order_id, [(1, 2), (2, 2)])
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=0, version=1)
    assert stock_of(warehouse, 2) == Stock(on_hand=1, reserved=0, version=1)
    [refused] = warehouse.published("warehouse", "reservation.refused")
    assert refused.data.order_id == order_id
    assert refused.data.status == "refused"
    assert refused.data.reason == "out of stock: SKU-2"
    assert stock_changes(warehouse, "reserve") == []


def test_an_order_for_an_unknown_product_is_refused(warehouse: ServiceHarness) -> None:
    create_product(warehouse, 1, opening_stock=5)
    place(warehouse, new_order_id(), [(1, 1), (42, 1)])
    warehouse.run_until_idle()

    [refused] = warehouse.published("warehouse", "reservation.refused")
    assert refused.data.reason == "unknown product: 42"
    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=0, version=1)


def test_the_last_unit_goes_to_exactly_one_of_two_orders(warehouse: ServiceHarness) -> None:
    first, second = new_order_id(), new_order_id()
    create_product(warehouse, 1, opening_stock=1)
    place(warehouse, first, [(1, 1)])
    place(warehouse, second, [(1, 1)])
    warehouse.run_until_idle()

    assert [r.data.order_id for r in warehouse.published("warehouse", "reservation.confirmed")] == [first]
    assert [r.data.order_id for r in warehouse.published("warehouse", "reservation.refused")] == [second]
    assert stock_of(warehouse, 1) == Stock(on_hand=1, reserved=1, version=2)


def test_a_cancelled_order_releases_its_units(warehouse: ServiceHarness) -> None:
    order_id = new_order_id()
    create_product(warehouse, 1, opening_stock=3)
    place(warehouse, order_id, [(1, 2)])
    warehouse.run_until_idle()
    cancel(warehouse, order_id, [(1, 2)])
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=3, reserved=0, version=3)
    [released] = warehouse.published("warehouse", "reservation.released")
    assert (released.data.status, released.envelope.aggregate_version) == ("released", 2)
    [change] = stock_changes(warehouse, "release")
    assert (change.available, change.delta.on_hand, change.delta.available, change.order_id) == (3, 0, 2, order_id)


def test_released_units_can_be_reserved_by_the_next_order(warehouse: ServiceHarness) -> None:
    first, second = new_order_id(), new_order_id()
    create_product(warehouse, 1, opening_stock=1)
    place(warehouse, first, [(1, 1)])
    warehouse.run_until_idle()
    cancel(warehouse, first, [(1, 1)])
    place(warehouse, second, [(1, 1)])
    warehouse.run_until_idle()

    assert [r.data.order_id for r in warehouse.published("warehouse", "reservation.confirmed")] == [first, second]
    assert stock_of(warehouse, 1) == Stock(on_hand=1, reserved=1, version=4)


def test_an_order_cancelled_before_it_was_placed_reserves_nothing_later(warehouse: ServiceHarness) -> None:
    order_id = new_order_id()
    create_product(warehouse, 1, opening_stock=3)
    cancel(warehouse, order_id, [(1, 1)])
    warehouse.run_until_idle()
    place(warehouse, order_id, [(1, 1)])
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=3, reserved=0, version=1)
    assert types_on(warehouse, "warehouse") == []
    assert stock_changes(warehouse, "reserve") == []
    tombstone = reservation_of(warehouse, order_id)
    assert tombstone is not None
    assert tombstone["status"] == "cancelled"


def test_cancelling_a_refused_order_releases_nothing(warehouse: ServiceHarness) -> None:
    order_id = new_order_id()
    create_product(warehouse, 1, opening_stock=0)
    place(warehouse, order_id, [(1, 1)])
    warehouse.run_until_idle()
    cancel(warehouse, order_id, [(1, 1)])
    warehouse.run_until_idle()

    assert types_on(warehouse, "warehouse") == ["reservation.refused"]
    assert stock_of(warehouse, 1) == Stock(on_hand=0, reserved=0, version=1)


def test_redelivered_order_events_change_nothing(warehouse: ServiceHarness) -> None:
    order_id = new_order_id()
    created = create_product(warehouse, 1, opening_stock=3)
    placed = place(warehouse, order_id, [(1, 2)])
    warehouse.run_until_idle()
    cancelled = cancel(warehouse, order_id, [(1, 2)])
    warehouse.run_until_idle()
    published = warehouse.client.xlen("stock"), warehouse.client.xlen("warehouse")

    for envelope in (created, placed, cancelled, placed):
        warehouse.redeliver(envelope)
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=3, reserved=0, version=3)
    assert (warehouse.client.xlen("stock"), warehouse.client.xlen("warehouse")) == published
