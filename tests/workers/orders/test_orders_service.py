"""The orders service end to end: real Redis, real database, its real wiring."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.harness import ServiceHarness
from tests.workers.orders.builders import (
    CARRIER,
    CUSTOMER,
    LINES,
    TOTAL_CENTS,
    cancel,
    checkout,
    dispatch,
    new_order_id,
    order_events,
    payment,
    reservation,
    shipment,
    statuses,
    tracking_number,
)
from tests.workers.orders.conftest import StartOrders
from workers.orders.tables import orders


def placed_order(shop: ServiceHarness, payment_method: str = "pm_card_visa") -> str:
    """A new pending order. Payment and stock events only ever follow it, so it is handled first."""
    order_id = new_order_id()
    checkout(shop, order_id, payment_method=payment_method)
    shop.run_until_idle()
    return order_id


def confirmed_order(shop: ServiceHarness) -> str:
    order_id = placed_order(shop)
    payment(shop, order_id, "confirmed")
    reservation(shop, order_id)
    shop.run_until_idle()
    assert statuses(shop, order_id) == ["pending", "confirmed"]
    return order_id


def settle_part(shop: ServiceHarness, order_id: str, part: str) -> None:
    if part == "payment":
        payment(shop, order_id, "confirmed")
    else:
        reservation(shop, order_id)


def stored(shop: ServiceHarness, order_id: str) -> dict[str, object]:
    with shop.db.snapshot() as conn:
        return dict(conn.execute(select(orders).where(orders.c.order_id == order_id)).mappings().one())


def test_a_checkout_places_a_pending_order_with_the_whole_snapshot(shop: ServiceHarness) -> None:
    order_id = new_order_id()
    checkout(shop, order_id, payment_method="pm_card_visa")
    shop.run_until_idle()

    [placed] = shop.published("orders", "order.placed")
    assert placed.envelope.aggregate_id == order_id
    assert placed.envelope.aggregate_version == 1
    assert placed.envelope.correlation_id == order_id
    order = placed.data
    assert order.status == "pending"
    assert order.customer == CUSTOMER
    assert order.lines == LINES
    assert order.total_cents == TOTAL_CENTS
    assert order.payment_method == "pm_card_visa"
    assert order.payment is None
    assert not order.stock_reserved
    assert [change.status for change in order.history] == ["pending"]
    assert order.history[0].at == order.placed_at


def test_a_second_checkout_for_the_same_order_changes_nothing(shop: ServiceHarness) -> None:
    order_id = new_order_id()
    checkout(shop, order_id)
    shop.run_until_idle()
    checkout(shop, order_id, payment_method="pm_card_declined")
    shop.run_until_idle()

    assert statuses(shop, order_id) == ["pending"]
    assert stored(shop, order_id)["payment_method"] == "pm_card_visa"


@pytest.mark.parametrize(("first", "second"), [("payment", "reservation"), ("reservation", "payment")])
def test_payment_and_reservation_in_either_order_confirm_the_order(
    shop: ServiceHarness, first: str, second: str
) -> None:
    order_id = placed_order(shop)
    settle_part(shop, order_id, first)
    shop.run_until_idle()
    assert statuses(shop, order_id) == ["pending"]
    settle_part(shop, order_id, second)
    shop.run_until_idle()

    [confirmed] = shop.published("orders", "order.confirmed")
    order = confirmed.data
    assert [change.status for change in order.history] == ["pending", "confirmed"]
    assert order.payment is not None
    assert order.payment.status == "confirmed"
    assert order.stock_reserved
    # Two changes before the status event: the settling one carries version 3.
    assert confirmed.envelope.aggregate_version == 3


def test_a_declined_payment_cancels_the_order_with_its_reason(shop: ServiceHarness) -> None:
    order_id = placed_order(shop, payment_method="pm_card_declined")
    payment(shop, order_id, "declined", reason="card_declined")
    shop.run_until_idle()

    [cancelled] = shop.published("orders", "order.cancelled")
    assert cancelled.data.cancel_reason == "payment declined: card_declined"
    assert cancelled.data.payment is not None
    assert cancelled.data.payment.reason == "card_declined"
    assert [change.status for change in cancelled.data.history] == ["pending", "cancelled"]


def test_refused_stock_cancels_the_order(shop: ServiceHarness) -> None:
    order_id = placed_order(shop)
    reservation(shop, order_id, refused_because="out of stock: GRINDER-HAND-C2")
    shop.run_until_idle()

    [cancelled] = shop.published("orders", "order.cancelled")
    assert cancelled.data.cancel_reason == "out of stock: GRINDER-HAND-C2"
    assert not cancelled.data.stock_reserved


def test_a_payment_after_the_cancellation_only_updates_the_payment(shop: ServiceHarness) -> None:
    order_id = placed_order(shop)
    reservation(shop, order_id, refused_because="out of stock: GRINDER-HAND-C2")
    shop.run_until_idle()
    payment(shop, order_id, "confirmed")
    shop.run_until_idle()

    assert statuses(shop, order_id) == ["pending", "cancelled"]
    row = stored(shop, order_id)
    assert row["status"] == "cancelled"
    assert row["payment"] == {
        "payment_id": "pay-1",
        "method": "pm_card_visa",
        "status": "confirmed",
        "reason": None,
        "amount_cents": TOTAL_CENTS,
        "refunded_cents": 0,
    }
    assert row["version"] == 3


def test_a_refund_after_the_cancellation_is_a_new_version_of_the_cancelled_order(shop: ServiceHarness) -> None:
    order_id = placed_order(shop)
    payment(shop, order_id, "confirmed", version=1)
    reservation(shop, order_id, refused_because="out of stock: GRINDER-HAND-C2")
    shop.run_until_idle()
    payment(shop, order_id, "refunded", version=2)
    # Reordered delivery: the older confirmation again must not undo the refund.
    payment(shop, order_id, "confirmed", version=1)
    shop.run_until_idle()

    assert [e.envelope.type for e in order_events(shop, order_id)] == [
        "order.placed",
        "order.cancelled",
        "order.refunded",
    ]
    [refunded] = shop.published("orders", "order.refunded")
    assert refunded.data.status == "cancelled"
    assert refunded.data.payment is not None
    assert (refunded.data.payment.amount_cents, refunded.data.payment.refunded_cents) == (TOTAL_CENTS, TOTAL_CENTS)
    assert refunded.envelope.aggregate_version == stored(shop, order_id)["version"]
    assert stored(shop, order_id)["payment"] == {
        "payment_id": "pay-1",
        "method": "pm_card_visa",
        "status": "refunded",
        "reason": None,
        "amount_cents": TOTAL_CENTS,
        "refunded_cents": TOTAL_CENTS,
    }


def test_a_pending_order_not_settled_in_time_is_cancelled(start_orders: StartOrders) -> None:
    shop = start_orders({"ORDER_PENDING_TIMEOUT_S": "0", "ORDER_SWEEP_INTERVAL_S": "0"})
    order_id = new_order_id()
    checkout(shop, order_id)
    shop.run_until_idle()
    shop.run_until_idle()
    payment(shop, order_id, "confirmed")
    reservation(shop, order_id)
    shop.run_until_idle()

    assert statuses(shop, order_id) == ["pending", "cancelled"]
    [cancelled] = shop.published("orders", "order.cancelled")
    assert cancelled.data.cancel_reason == "not settled in time"
    assert cancelled.envelope.correlation_id == order_id


def test_a_pending_order_within_the_timeout_is_left_alone(shop: ServiceHarness) -> None:
    order_id = new_order_id()
    checkout(shop, order_id)
    shop.run_until_idle()
    shop.run_until_idle()

    assert statuses(shop, order_id) == ["pending"]


def test_a_confirmed_order_is_dispatched_shipped_and_delivered(shop: ServiceHarness) -> None:
    order_id = confirmed_order(shop)
    dispatch(shop, order_id)
    shop.run_until_idle()
    shipment(shop, order_id, "shipped")
    shop.run_until_idle()
    shipment(shop, order_id, "delivered")
    shop.run_until_idle()

    events = order_events(shop, order_id)
    assert [e.envelope.type for e in events] == [
        "order.placed",
        "order.confirmed",
        "order.dispatched",
        "order.shipped",
        "order.delivered",
    ]
    assert [e.envelope.aggregate_version for e in events] == sorted({e.envelope.aggregate_version for e in events})
    shipped, delivered = events[3].data, events[4].data
    assert (shipped.carrier, shipped.tracking_number) == (CARRIER, tracking_number(order_id))
    assert (delivered.carrier, delivered.tracking_number) == (CARRIER, tracking_number(order_id))
    assert [c.status for c in delivered.history] == ["pending", "confirmed", "dispatched", "shipped", "delivered"]


def test_a_delivery_handled_before_its_shipment_still_records_both(shop: ServiceHarness) -> None:
    order_id = confirmed_order(shop)
    dispatch(shop, order_id)
    shop.run_until_idle()
    shipment(shop, order_id, "delivered")
    shop.run_until_idle()
    shipment(shop, order_id, "shipped")
    shop.run_until_idle()

    assert statuses(shop, order_id) == ["pending", "confirmed", "dispatched", "shipped", "delivered"]


def test_a_shoppers_cancel_of_a_pending_or_confirmed_order_cancels_it(shop: ServiceHarness) -> None:
    pending, confirmed = placed_order(shop), confirmed_order(shop)
    cancel(shop, pending)
    cancel(shop, confirmed)
    shop.run_until_idle()

    assert statuses(shop, pending) == ["pending", "cancelled"]
    assert statuses(shop, confirmed) == ["pending", "confirmed", "cancelled"]
    reasons = {e.data.order_id: e.data.cancel_reason for e in shop.published("orders", "order.cancelled")}
    assert reasons == {pending: "cancelled by the customer", confirmed: "cancelled by the customer"}


@pytest.mark.parametrize("cancel_first", [True, False], ids=["cancel-first", "dispatch-first"])
def test_of_a_cancel_and_a_dispatch_only_the_first_handled_wins(shop: ServiceHarness, cancel_first: bool) -> None:
    order_id = confirmed_order(shop)
    if cancel_first:
        cancel(shop, order_id)
        dispatch(shop, order_id)
    else:
        dispatch(shop, order_id)
        cancel(shop, order_id)
    shop.run_until_idle()

    winner = "cancelled" if cancel_first else "dispatched"
    assert statuses(shop, order_id) == ["pending", "confirmed", winner]


def test_a_cancel_after_the_dispatch_changes_nothing(shop: ServiceHarness) -> None:
    order_id = confirmed_order(shop)
    dispatch(shop, order_id)
    shop.run_until_idle()
    version = stored(shop, order_id)["version"]
    cancel(shop, order_id)
    shop.run_until_idle()

    assert statuses(shop, order_id) == ["pending", "confirmed", "dispatched"]
    assert stored(shop, order_id)["version"] == version


def test_a_dispatch_of_an_unconfirmed_order_is_ignored(shop: ServiceHarness) -> None:
    order_id = placed_order(shop)
    dispatch(shop, order_id)
    shipment(shop, order_id, "shipped")
    shop.run_until_idle()

    assert statuses(shop, order_id) == ["pending"]


def test_events_for_an_unknown_order_are_ignored(shop: ServiceHarness) -> None:
    order_id = new_order_id()
    payment(shop, order_id, "confirmed")
    reservation(shop, order_id)
    dispatch(shop, order_id)
    shop.run_until_idle()

    assert shop.published("orders") == []
    assert shop.published("dlq") == []


def test_duplicate_events_change_nothing(shop: ServiceHarness) -> None:
    order_id = new_order_id()
    upstream = [checkout(shop, order_id)]
    shop.run_until_idle()
    upstream += [payment(shop, order_id, "confirmed"), reservation(shop, order_id)]
    shop.run_until_idle()
    upstream.append(dispatch(shop, order_id))
    shop.run_until_idle()
    upstream += [shipment(shop, order_id, "shipped"), shipment(shop, order_id, "delivered")]
    shop.run_until_idle()
    version = stored(shop, order_id)["version"]
    for envelope in upstream:
        shop.redeliver(envelope)
    shop.run_until_idle()

    assert statuses(shop, order_id) == ["pending", "confirmed", "dispatched", "shipped", "delivered"]
    assert stored(shop, order_id)["version"] == version
