"""Upstream events as their producers publish them, put on their streams through a harness."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.support.harness import ServiceHarness
from workers.contracts.common import Customer, Line, Quantity
from workers.contracts.orders import OrderSnapshot
from workers.contracts.payments import PaymentConfirmed, PaymentDeclined, PaymentRefunded, PaymentSnapshot
from workers.contracts.shipping import ShipmentDelivered, ShipmentShipped
from workers.contracts.storefront import CancelRequested, CheckoutSubmitted, DispatchRequested
from workers.contracts.warehouse import ReservationConfirmed, ReservationRefused
from workers.eventing import Envelope, Received
from workers.eventing.ids import uuid7

CUSTOMER = Customer(email="ada@example.com", name="Ada Lovelace", address="12 St James's Square, London")
LINES = [
    Line(
        product_id=3,
        sku="GRINDER-HAND-C2",
        name="Hand grinder",
        unit_price_cents=6500,
        quantity=1,
        line_total_cents=6500,
    ),
    Line(product_id=5, sku="FILTER-PAPER-100", name="Filters", unit_price_cents=650, quantity=2, line_total_cents=1300),
]
TOTAL_CENTS = 7800
CARRIER = "Parcelo"

PAYMENT_EVENTS: dict[str, type[PaymentSnapshot]] = {
    "confirmed": PaymentConfirmed,
    "declined": PaymentDeclined,
    "refunded": PaymentRefunded,
}


def checkout(shop: ServiceHarness, order_id: str, payment_method: str = "pm_card_visa") -> Envelope:
    data = CheckoutSubmitted(
        order_id=order_id,
        customer=CUSTOMER,
        lines=LINES,
        total_cents=TOTAL_CENTS,
        payment_method=payment_method,
        submitted_at=datetime.now(UTC),
    )
    return shop.publish(data, aggregate_id=order_id, source="gateway")


def payment(
    shop: ServiceHarness,
    order_id: str,
    status: str = "confirmed",
    *,
    reason: str | None = None,
    payment_id: str = "pay-1",
    version: int = 1,
) -> Envelope:
    data = PAYMENT_EVENTS[status].model_validate(
        {
            "payment_id": payment_id,
            "order_id": order_id,
            "amount_cents": TOTAL_CENTS,
            "method": "pm_card_visa",
            "status": status,
            "reason": reason,
            "provider_reference": None if status == "declined" else "sim_ch_0123",
        }
    )
    return shop.publish(
        data, aggregate_id=payment_id, aggregate_version=version, correlation_id=order_id, source="payments"
    )


def reservation(shop: ServiceHarness, order_id: str, *, refused_because: str | None = None) -> Envelope:
    quantities = [Quantity(product_id=line.product_id, quantity=line.quantity) for line in LINES]
    model = ReservationConfirmed if refused_because is None else ReservationRefused
    status = "held" if refused_because is None else "refused"
    data = model(order_id=order_id, status=status, lines=quantities, reason=refused_because, at=datetime.now(UTC))
    return shop.publish(data, aggregate_id=order_id, aggregate_version=1, source="warehouse")


def dispatch(shop: ServiceHarness, order_id: str) -> Envelope:
    """A clerk clicked *Dispatch* (the gateway's request)."""
    data = DispatchRequested(order_id=order_id, clerk="clerk", requested_at=datetime.now(UTC))
    return shop.publish(data, aggregate_id=order_id, source="gateway")


def cancel(shop: ServiceHarness, order_id: str) -> Envelope:
    """A shopper clicked *Cancel order* (the gateway's request)."""
    data = CancelRequested(order_id=order_id, requested_at=datetime.now(UTC))
    return shop.publish(data, aggregate_id=order_id, source="gateway")


def shipment(shop: ServiceHarness, order_id: str, status: str) -> Envelope:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "shipment_id": f"shp-{order_id}",
        "order_id": order_id,
        "carrier": CARRIER,
        "tracking_number": tracking_number(order_id),
        "status": status,
        "shipped_at": now,
        "delivered_at": now if status == "delivered" else None,
    }
    model = ShipmentShipped if status == "shipped" else ShipmentDelivered
    version = 2 if status == "shipped" else 3
    return shop.publish(model.model_validate(fields), aggregate_id=f"shp-{order_id}", aggregate_version=version)


def tracking_number(order_id: str) -> str:
    return "PCL" + order_id.replace("-", "")[-10:].upper()


def new_order_id() -> str:
    return uuid7()


def order_events(shop: ServiceHarness, order_id: str) -> list[Received[OrderSnapshot]]:
    """What the orders service published about one order, in order."""
    return [event for event in shop.published("orders") if event.data.order_id == order_id]


def statuses(shop: ServiceHarness, order_id: str) -> list[str]:
    return [event.data.status for event in order_events(shop, order_id)]
