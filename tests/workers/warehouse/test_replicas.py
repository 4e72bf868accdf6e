"""Replicas sharing one database: the conditional UPDATEs keep the last unit with one buyer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.harness import ServiceHarness
from tests.workers.order_snapshots import new_order_id, order_event
from tests.workers.warehouse.shop import Stock, create_product, stock_of
from workers.contracts.orders import OrderPlaced
from workers.eventing import Envelope, Received
from workers.warehouse.bootstrap import SPEC
from workers.warehouse.handlers import reserve
from workers.warehouse.reservation import Need
from workers.warehouse.shelves import Shortfall, hold


@pytest.fixture
def pg_warehouse(redis_url: str, postgres_url: str, tmp_path: Path) -> Iterator[ServiceHarness]:
    harness = ServiceHarness(SPEC, redis_url=redis_url, database_url=postgres_url, data_dir=tmp_path)
    try:
        yield harness
    finally:
        harness.close()


def _placed(order_id: str) -> Received[OrderPlaced]:
    data = order_event(OrderPlaced, order_id, [(1, 1)])
    envelope = Envelope.wrap(data, source="orders", aggregate_id=order_id, aggregate_version=1, correlation_id=order_id)
    return Received(envelope=envelope, data=data, stream="orders", entry_id="0-1")


def test_a_replica_that_loses_the_race_for_the_last_unit_refuses(pg_warehouse: ServiceHarness) -> None:
    create_product(pg_warehouse, 1, opening_stock=1)
    pg_warehouse.run_until_idle()
    outbox = pg_warehouse.runtime.outbox
    first, second = _placed(new_order_id()), _placed(new_order_id())
    first_holds, first_may_commit = threading.Event(), threading.Event()

    def first_replica() -> None:
        with outbox.unit_of_work(cause=first) as uow:
            reserve(first, uow)
            first_holds.set()
            first_may_commit.wait(10)

    def second_replica() -> None:
        with outbox.unit_of_work(cause=second) as uow:
            reserve(second, uow)

    threads = [threading.Thread(target=first_replica), threading.Thread(target=second_replica)]
    threads[0].start()
    assert first_holds.wait(10)
    # The second replica read "1 available" before the first committed and now waits for the row lock.
    threads[1].start()
    _wait_until_a_backend_waits_for_a_lock(pg_warehouse)
    first_may_commit.set()
    for thread in threads:
        thread.join(10)
    pg_warehouse.run_until_idle()

    [confirmed] = pg_warehouse.published("warehouse", "reservation.confirmed")
    [refused] = pg_warehouse.published("warehouse", "reservation.refused")
    assert confirmed.data.order_id == first.data.order_id
    assert (refused.data.order_id, refused.data.reason) == (second.data.order_id, "out of stock: SKU-1")
    assert stock_of(pg_warehouse, 1) == Stock(on_hand=1, reserved=1, version=2)


def test_a_shortfall_undoes_the_lines_already_held(warehouse: ServiceHarness) -> None:
    create_product(warehouse, 1, opening_stock=5)
    create_product(warehouse, 2, opening_stock=1)
    warehouse.run_until_idle()

    with warehouse.db.transaction() as conn:
        with pytest.raises(Shortfall) as short:
            hold(conn, [Need(1, 2), Need(2, 2)])
        assert short.value.need == Need(2, 2)
        # The transaction itself goes on, without the first line's reservation.
        assert conn.scalar(text("SELECT reserved FROM stock WHERE product_id = 1")) == 0
        hold(conn, [Need(1, 1)])

    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=1, version=2)
    assert stock_of(warehouse, 2) == Stock(on_hand=1, reserved=0, version=1)


def _wait_until_a_backend_waits_for_a_lock(harness: ServiceHarness, timeout_s: float = 10.0) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with harness.db.engine.connect() as conn:
            if conn.scalar(query):
                return
        time.sleep(0.01)
    raise AssertionError("the second replica never waited for the stock row's lock")
