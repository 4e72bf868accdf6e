"""Order events delivered again after the inbox has forgotten them move no stock: reservations decide."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.support.harness import ServiceHarness
from tests.workers.order_snapshots import new_order_id
from tests.workers.warehouse.shop import Stock, cancel, confirm, create_product, dispatch, place, stock_of
from workers.eventing.retention import Housekeeping, RetentionPolicy
from workers.eventing.tables import backbone_tables

FORGET_AT_ONCE = RetentionPolicy(stream_keep_s=0, dlq_redrive_s=0, inbox_keep_s=0.001)
LINES = [(1, 2)]


def test_a_dispatched_orders_events_redelivered_after_the_inbox_forgot_them_move_no_stock(
    warehouse: ServiceHarness,
) -> None:
    order_id = new_order_id()
    history = [create_product(warehouse, 1, opening_stock=5), place(warehouse, order_id, LINES)]
    warehouse.run_until_idle()
    history += [confirm(warehouse, order_id, LINES), dispatch(warehouse, order_id, LINES)]
    warehouse.run_until_idle()
    before = stock_of(warehouse, 1)
    assert before is not None and (before.on_hand, before.reserved) == (3, 0)
    events_before = _stream_lengths(warehouse)
    _forget_inbox(warehouse)

    for envelope in history:
        warehouse.redeliver(envelope)
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == before
    assert _stream_lengths(warehouse) == events_before  # nothing announced again


def test_a_cancellation_redelivered_after_the_inbox_forgot_it_releases_nothing_twice(
    warehouse: ServiceHarness,
) -> None:
    order_id, other = new_order_id(), new_order_id()
    create_product(warehouse, 1, opening_stock=5)
    place(warehouse, order_id, LINES)
    place(warehouse, other, LINES)
    warehouse.run_until_idle()
    cancelled = cancel(warehouse, order_id, LINES)
    warehouse.run_until_idle()
    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=2, version=4)
    _forget_inbox(warehouse)

    warehouse.redeliver(cancelled)
    warehouse.run_until_idle()

    assert stock_of(warehouse, 1) == Stock(on_hand=5, reserved=2, version=4)  # the other order's units stay held


def _forget_inbox(warehouse: ServiceHarness) -> None:
    inbox = backbone_tables(warehouse.db.metadata).inbox
    Housekeeping(warehouse.runtime.outbox, warehouse.client, FORGET_AT_ONCE).prune_inbox()
    with warehouse.db.snapshot() as conn:
        assert conn.scalar(select(func.count()).select_from(inbox)) == 0


def _stream_lengths(warehouse: ServiceHarness) -> dict[str, int]:
    return {stream: int(warehouse.client.xlen(stream)) for stream in ("warehouse", "stock")}
