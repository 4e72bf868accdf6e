"""The payments service end to end: real Redis, real database, its real wiring."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, select

from tests.support.harness import ServiceHarness
from tests.workers.order_snapshots import new_order_id, order_event
from workers.contracts.orders import OrderCancelled, OrderPlaced, PaymentState
from workers.eventing import Envelope
from workers.payments.handlers import charge_key, refund_key
from workers.payments.provider import SimulatedProvider
from workers.payments.tables import cancelled_orders, payments

LINES = [(3, 1), (5, 2)]  # (product_id, quantity) at 10.00 each: 30.00


def place(shop: ServiceHarness, order_id: str, payment_method: str = "pm_card_visa") -> Envelope:
    data = order_event(OrderPlaced, order_id, LINES, payment_method=payment_method)
    return shop.publish(data, aggregate_id=order_id, aggregate_version=1, source="orders")


def cancel(shop: ServiceHarness, order_id: str, payment: PaymentState | None = None) -> Envelope:
    data = order_event(OrderCancelled, order_id, LINES, cancel_reason="out of stock: SKU-3", payment=payment)
    return shop.publish(data, aggregate_id=order_id, aggregate_version=2, source="orders")


def payment_rows(shop: ServiceHarness, order_id: str) -> list[dict[str, Any]]:
    with shop.db.snapshot() as conn:
        query = select(payments).where(payments.c.order_id == order_id)
        return [dict(row) for row in conn.execute(query).mappings()]


def test_a_visa_payment_is_confirmed_for_the_order_total(payments: ServiceHarness) -> None:
    order_id = new_order_id()
    place(payments, order_id)
    payments.run_until_idle()

    [confirmed] = payments.published("payments", "payment.confirmed")
    assert confirmed.data.order_id == order_id
    assert confirmed.data.amount_cents == 3000
    assert confirmed.data.method == "pm_card_visa"
    assert confirmed.data.provider_reference is not None
    assert confirmed.envelope.aggregate_id == confirmed.data.payment_id
    assert confirmed.envelope.aggregate_version == 1
    assert confirmed.envelope.correlation_id == order_id
    [row] = payment_rows(payments, order_id)
    assert (row["status"], row["version"]) == ("confirmed", 1)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("pm_card_declined", "card_declined"),
        ("pm_card_insufficient_funds", "insufficient_funds"),
        ("pm_card_from_nowhere", "unknown_payment_method"),
    ],
)
def test_a_refused_charge_is_declined_with_its_reason(payments: ServiceHarness, token: str, reason: str) -> None:
    order_id = new_order_id()
    place(payments, order_id, payment_method=token)
    payments.run_until_idle()

    [declined] = payments.published("payments", "payment.declined")
    assert declined.data.reason == reason
    assert declined.data.method == token
    assert declined.data.provider_reference is None
    assert payments.published("payments", "payment.confirmed") == []


def test_only_the_token_is_stored(payments: ServiceHarness, provider: SimulatedProvider) -> None:
    card_number = "4242424242424242"
    order_id = new_order_id()
    place(payments, order_id, payment_method=card_number)
    payments.run_until_idle()

    [declined] = payments.published("payments", "payment.declined")
    assert declined.data.reason == "unknown_payment_method"
    assert card_number not in declined.envelope.model_dump_json()
    [row] = payment_rows(payments, order_id)
    assert card_number not in repr(row)
    assert provider.requests == []  # a card number is never sent anywhere either
    columns = {column["name"] for column in inspect(payments.db.engine).get_columns("payments")}
    assert columns == {
        "payment_id",
        "order_id",
        "amount_cents",
        "method",
        "status",
        "reason",
        "provider_reference",
        "refund_reference",
        "version",
    }


def test_an_order_is_charged_once_however_often_it_is_placed(
    payments: ServiceHarness, provider: SimulatedProvider
) -> None:
    order_id = new_order_id()
    placed = place(payments, order_id)
    payments.run_until_idle()
    payments.redeliver(placed)
    place(payments, order_id)  # the same order announced again under a new event id
    payments.run_until_idle()

    assert len(payments.published("payments", "payment.confirmed")) == 1
    assert provider.requests == [("charge", charge_key(order_id))]


def test_a_cancelled_order_is_refunded_once(payments: ServiceHarness, provider: SimulatedProvider) -> None:
    order_id = new_order_id()
    place(payments, order_id)
    payments.run_until_idle()
    cancelled = cancel(payments, order_id)
    payments.run_until_idle()
    payments.redeliver(cancelled)
    cancel(payments, order_id)  # and announced again under a new event id
    payments.run_until_idle()

    [confirmed] = payments.published("payments", "payment.confirmed")
    [refunded] = payments.published("payments", "payment.refunded")
    assert refunded.data.payment_id == confirmed.data.payment_id
    assert refunded.data.amount_cents == 3000
    assert refunded.envelope.aggregate_version == 2
    assert refunded.envelope.correlation_id == order_id
    assert provider.requests == [("charge", charge_key(order_id)), ("refund", refund_key(order_id))]
    [row] = payment_rows(payments, order_id)
    assert row["status"] == "refunded"
    assert row["refund_reference"] is not None


def test_a_declined_payment_is_not_refunded(payments: ServiceHarness, provider: SimulatedProvider) -> None:
    order_id = new_order_id()
    place(payments, order_id, payment_method="pm_card_declined")
    payments.run_until_idle()
    cancel(payments, order_id)
    payments.run_until_idle()

    assert payments.published("payments", "payment.refunded") == []
    assert provider.requests == [("charge", charge_key(order_id))]


def test_an_order_cancelled_before_it_was_placed_is_never_charged(
    payments: ServiceHarness, provider: SimulatedProvider
) -> None:
    order_id = new_order_id()
    cancel(payments, order_id)
    payments.run_until_idle()
    place(payments, order_id)
    payments.run_until_idle()

    assert payments.published("payments") == []
    assert provider.requests == []
    assert payment_rows(payments, order_id) == []
    with payments.db.snapshot() as conn:
        assert conn.scalar(select(cancelled_orders.c.order_id).where(cancelled_orders.c.order_id == order_id))


def test_each_order_gets_its_own_payment(payments: ServiceHarness) -> None:
    first, second = new_order_id(), new_order_id()
    place(payments, first)
    place(payments, second, payment_method="pm_card_declined")
    payments.run_until_idle()

    by_order = {event.data.order_id: event for event in payments.published("payments")}
    assert by_order[first].envelope.type == "payment.confirmed"
    assert by_order[second].envelope.type == "payment.declined"
    assert by_order[first].data.payment_id != by_order[second].data.payment_id
