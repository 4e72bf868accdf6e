"""What payments does: charges placed orders, refunds cancelled ones, charges nothing for the rest.

An order cancelled before its ``order.placed`` arrived (the two can be handled out of
order by replicas) leaves a tombstone; the later ``order.placed`` then charges nothing
and publishes nothing, since the order is already cancelled and nothing was taken.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from workers.contracts.orders import OrderCancelled, OrderPlaced
from workers.contracts.payments import (
    PaymentConfirmed,
    PaymentDeclined,
    PaymentRefunded,
    PaymentSnapshot,
    PaymentStatus,
)
from workers.eventing import Received, UnitOfWork
from workers.eventing.ids import uuid7
from workers.payments.provider import UNKNOWN_PAYMENT_METHOD, ChargeResult, PaymentProvider
from workers.payments.tables import cancelled_orders, payments

log = logging.getLogger(__name__)

# What a provider token looks like. Anything else (a card number typed into the wrong
# field) is declined without being sent anywhere, and stored only as NOT_A_TOKEN.
TOKEN = re.compile(r"pm_[A-Za-z0-9_]{1,60}")
NOT_A_TOKEN = "not_a_token"

EVENT_FOR_STATUS: Mapping[PaymentStatus, type[PaymentSnapshot]] = {
    "confirmed": PaymentConfirmed,
    "declined": PaymentDeclined,
    "refunded": PaymentRefunded,
}


class RefundFailed(RuntimeError):
    """The provider would not refund; the event is retried, then dead-lettered for an operator."""


def charge_key(order_id: str) -> str:
    """The idempotency key of an order's charge: a retry after a crash reuses it."""
    return f"order-{order_id}-charge"


def refund_key(order_id: str) -> str:
    return f"order-{order_id}-refund"


# Statements built once: per event, building them cost more than running them (profiled).
_PAYMENT_OF = select(payments).where(payments.c.order_id == bindparam("b_order_id"))
_BURIED = select(cancelled_orders.c.order_id).where(cancelled_orders.c.order_id == bindparam("b_order_id"))
_INSERT = insert(payments)


def charge_order(event: Received[OrderPlaced], uow: UnitOfWork, *, provider: PaymentProvider) -> None:
    """Create the order's payment transaction and charge it (once per order)."""
    order = event.data
    _serialise(uow.conn, order.order_id)
    if _payment_of(uow.conn, order.order_id) is not None:
        log.debug("payments: order %s already has a payment; event=%s ignored", order.order_id, event.envelope.id)
        return
    if uow.conn.scalar(_BURIED, {"b_order_id": order.order_id}):
        log.debug("payments: order %s was cancelled before it was placed; nothing charged", order.order_id)
        return
    if TOKEN.fullmatch(order.payment_method):
        method = order.payment_method
        result = provider.charge(method, order.total_cents, charge_key(order.order_id))
    else:
        method = NOT_A_TOKEN
        result = ChargeResult(approved=False, decline_reason=UNKNOWN_PAYMENT_METHOD)
    row: dict[str, Any] = {
        "payment_id": uuid7(),
        "order_id": order.order_id,
        "amount_cents": order.total_cents,
        "method": method,
        "status": "confirmed" if result.approved else "declined",
        "reason": None if result.approved else (result.decline_reason or "declined"),
        "provider_reference": result.reference,
        "refund_reference": None,
        "version": 1,
    }
    uow.conn.execute(_INSERT, row)
    log.debug("payments: order %s %s (%s)", order.order_id, row["status"], row["reason"] or row["provider_reference"])
    uow.publish(snapshot(row), aggregate_id=row["payment_id"], aggregate_version=1)


def refund_order(event: Received[OrderCancelled], uow: UnitOfWork, *, provider: PaymentProvider) -> None:
    """Give back a confirmed payment; with no payment yet, make sure none is ever taken."""
    order_id = event.data.order_id
    _serialise(uow.conn, order_id)
    row = _payment_of(uow.conn, order_id)
    if row is None:
        _bury(uow.conn, order_id)
        return
    if row["status"] != "confirmed":
        log.debug("payments: order %s cancelled; its payment is %s, nothing to refund", order_id, row["status"])
        return
    result = provider.refund(row["provider_reference"], row["amount_cents"], refund_key(order_id))
    if not result.refunded:
        raise RefundFailed(f"refund of order {order_id} failed: {result.failure_reason}")
    refunded = {**row, "status": "refunded", "refund_reference": result.reference, "version": row["version"] + 1}
    uow.conn.execute(
        update(payments)
        .where(payments.c.payment_id == row["payment_id"])
        .values(status="refunded", refund_reference=result.reference, version=refunded["version"])
    )
    uow.after_commit(partial(log.info, "payments: order %s refunded (%s)", order_id, result.reference))
    uow.publish(snapshot(refunded), aggregate_id=row["payment_id"], aggregate_version=refunded["version"])


def snapshot(row: Mapping[str, Any]) -> PaymentSnapshot:
    """The payment as the event type named after its status."""
    return EVENT_FOR_STATUS[row["status"]](
        payment_id=row["payment_id"],
        order_id=row["order_id"],
        amount_cents=row["amount_cents"],
        method=row["method"],
        status=row["status"],
        reason=row["reason"],
        provider_reference=row["provider_reference"],
        # Refunds give the whole amount back (an order is cancelled whole).
        refunded_cents=row["amount_cents"] if row["status"] == "refunded" else 0,
    )


def _payment_of(conn: Connection, order_id: str) -> dict[str, Any] | None:
    found = conn.execute(_PAYMENT_OF, {"b_order_id": order_id}).mappings().first()
    return dict(found) if found is not None else None


def _bury(conn: Connection, order_id: str) -> None:
    """Leave a tombstone so a late ``order.placed`` charges nothing."""
    if conn.scalar(select(cancelled_orders.c.order_id).where(cancelled_orders.c.order_id == order_id)):
        return
    conn.execute(insert(cancelled_orders).values(order_id=order_id, cancelled_at=datetime.now(UTC)))
    log.debug("payments: order %s cancelled before any payment; tombstone left", order_id)


def _serialise(conn: Connection, order_id: str) -> None:
    """Handle one order in one transaction at a time, across replicas.

    The charge checks the tombstone and writes a payment; the cancel checks the payment
    and writes the tombstone. Those are different rows, so on PostgreSQL two replicas
    could each miss the other's write and charge an order that is never refunded. A
    transaction-scoped advisory lock per order prevents it; SQLite's ``BEGIN IMMEDIATE``
    already lets one writer in at a time.
    """
    if conn.dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.blake2b(order_id.encode(), digest_size=8).digest(), "big", signed=True)
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
