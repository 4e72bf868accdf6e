"""Stock comes in with new products and restocks, and never goes below zero."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from tests.support.harness import ServiceHarness
from tests.workers.warehouse.shop import Stock, create_product, request_restock, stock_changes, stock_of
from workers.warehouse.tables import stock


def test_a_new_product_is_stocked_with_its_opening_stock(warehouse: ServiceHarness) -> None:
    create_product(warehouse, 1, opening_stock=5)
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=0, version=1)
    [change] = stock_changes(warehouse)
    assert (change.cause, change.on_hand, change.available, change.reserved) == ("restock", 5, 5, 0)
    assert (change.delta.on_hand, change.delta.available) == (5, 5)
    [received] = warehouse.published("stock")
    assert (received.envelope.aggregate_id, received.envelope.aggregate_version) == ("1", 1)


def test_a_product_created_again_changes_nothing(warehouse: ServiceHarness) -> None:
    create_product(warehouse, 1, opening_stock=5)
    create_product(warehouse, 1, opening_stock=50)
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=0, version=1)
    assert len(stock_changes(warehouse)) == 1


def test_a_restock_raises_on_hand_and_available(warehouse: ServiceHarness) -> None:
    create_product(warehouse, 1, opening_stock=2)
    warehouse.run_until_idle()
    request_restock(warehouse, 1, 3)
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=0, version=2)
    change = stock_changes(warehouse)[-1]
    assert (change.cause, change.on_hand, change.available, change.order_id) == ("restock", 5, 5, None)
    assert (change.delta.on_hand, change.delta.available) == (3, 3)
    assert warehouse.published("stock")[-1].envelope.aggregate_version == 2


def test_a_restock_of_an_unknown_product_is_ignored(warehouse: ServiceHarness) -> None:
    request_restock(warehouse, 99, 3)
    warehouse.run_until_idle()

    assert stock_of(warehouse, 99) is None
    assert stock_changes(warehouse) == []
    assert warehouse.client.xlen("dlq") == 0


def test_a_redelivered_restock_counts_once(warehouse: ServiceHarness) -> None:
    create_product(warehouse, 1, opening_stock=0)
    restock = request_restock(warehouse, 1, 4)
    warehouse.run_until_idle()
    warehouse.redeliver(restock)
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=4, reserved=0, version=2)
    assert len(stock_changes(warehouse, "restock")) == 2


@pytest.mark.parametrize(("on_hand", "reserved"), [(-1, 0), (3, -1), (3, 4)])
def test_the_database_refuses_negative_or_overcommitted_stock(
    warehouse: ServiceHarness, on_hand: int, reserved: int
) -> None:
    create_product(warehouse, 1, opening_stock=3)
    warehouse.run_until_idle()

    with pytest.raises(IntegrityError), warehouse.db.transaction() as conn:
        conn.execute(update(stock).where(stock.c.product_id == 1).values(on_hand=on_hand, reserved=reserved))
    assert stock_of(warehouse, 1) == Stock(on_hand=3, reserved=0, version=1)
