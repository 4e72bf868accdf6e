"""Events delivered again after the inbox has forgotten them change nothing: the statuses and versions decide."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.support.harness import ServiceHarness
from tests.workers.orders.builders import checkout, dispatch, new_order_id, payment, reservation, shipment, statuses
from workers.eventing.retention import Housekeeping, RetentionPolicy
from workers.eventing.tables import backbone_tables
from workers.orders.tables import orders

FORGET_AT_ONCE = RetentionPolicy(stream_keep_s=0, dlq_redrive_s=0, inbox_keep_s=0.001)


def test_a_delivered_orders_events_redelivered_after_the_inbox_forgot_them_change_nothing(
    shop: ServiceHarness,
) -> None:
    order_id = new_order_id()
    history = [checkout(shop, order_id)]
    shop.run_until_idle()
    history += [payment(shop, order_id, "confirmed"), reservation(shop, order_id)]
    shop.run_until_idle()
    history.append(dispatch(shop, order_id))
    shop.run_until_idle()
    history += [shipment(shop, order_id, "shipped"), shipment(shop, order_id, "delivered")]
    shop.run_until_idle()
    before = statuses(shop, order_id)
    assert before == ["pending", "confirmed", "dispatched", "shipped", "delivered"]
    _forget_inbox(shop)

    for envelope in history:
        shop.redeliver(envelope)
    shop.run_until_idle()

    assert statuses(shop, order_id) == before  # no event published again
    assert _orders(shop) == 1


def _forget_inbox(shop: ServiceHarness) -> None:
    inbox = backbone_tables(shop.db.metadata).inbox
    Housekeeping(shop.runtime.outbox, shop.client, FORGET_AT_ONCE).prune_inbox()
    with shop.db.snapshot() as conn:
        assert conn.scalar(select(func.count()).select_from(inbox)) == 0


def _orders(shop: ServiceHarness) -> int:
    with shop.db.snapshot() as conn:
        return int(conn.scalar(select(func.count()).select_from(orders)) or 0)
