"""Wiring of the orders service (its composition root)."""

from __future__ import annotations

from workers.contracts import REGISTRY
from workers.contracts.payments import PaymentConfirmed, PaymentDeclined, PaymentRefunded
from workers.contracts.shipping import ShipmentDelivered, ShipmentShipped
from workers.contracts.storefront import CancelRequested, CheckoutSubmitted, DispatchRequested
from workers.contracts.warehouse import ReservationConfirmed, ReservationRefused
from workers.eventing import Handler, Runtime, ServiceSpec, Tick, Wiring
from workers.orders.handlers import (
    accept_cancel,
    accept_dispatch,
    cancel_overdue,
    place_order,
    record_payment,
    record_refusal,
    record_reservation,
    record_shipment,
)
from workers.orders.migrations import MIGRATIONS
from workers.orders.tables import METADATA


def wire(runtime: Runtime) -> Wiring:
    timeout_s = runtime.settings.number("ORDER_PENDING_TIMEOUT_S", 900)
    sweep_interval_s = runtime.settings.number("ORDER_SWEEP_INTERVAL_S", 1)
    handlers: dict[str, Handler] = {
        CheckoutSubmitted.TYPE: place_order,
        PaymentConfirmed.TYPE: record_payment,
        PaymentDeclined.TYPE: record_payment,
        PaymentRefunded.TYPE: record_payment,
        ReservationConfirmed.TYPE: record_reservation,
        ReservationRefused.TYPE: record_refusal,
        DispatchRequested.TYPE: accept_dispatch,
        CancelRequested.TYPE: accept_cancel,
        ShipmentShipped.TYPE: record_shipment,
        ShipmentDelivered.TYPE: record_shipment,
    }

    def sweep_overdue() -> None:
        cancel_overdue(runtime.outbox, timeout_s)

    return Wiring(handlers=handlers, ticks=[Tick(sweep_interval_s, sweep_overdue)])


SPEC = ServiceSpec(name="orders", metadata=METADATA, registry=REGISTRY, wire=wire, migrations=MIGRATIONS)
