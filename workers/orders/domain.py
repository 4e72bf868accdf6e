"""The rules of an order's life: which status may follow which, and when it settles.

Pure functions of the order's facts, no I/O. Each returns the moves to make (empty
when nothing changes), so a late or duplicate event simply yields no move: an order
only ever goes forward.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

from workers.contracts.orders import (
    CANCELLABLE,
    CANCELLED_BY_CUSTOMER,
    FULFILMENT,
    NOT_SETTLED_IN_TIME,
    ORDER_PATH,
    ORDER_STATUSES,
    OUT_OF_STOCK,
    PAYMENT_DECLINED,
    OrderStatus,
)
from workers.contracts.payments import PaymentStatus


def _forward(status: OrderStatus) -> frozenset[OrderStatus]:
    """The next step of the order's path, and cancellation while the goods are still here."""
    step = ORDER_PATH.index(status) + 1 if status in ORDER_PATH else len(ORDER_PATH)
    following: set[OrderStatus] = set(ORDER_PATH[step : step + 1])
    if status in CANCELLABLE:
        following.add("cancelled")
    return frozenset(following)


FORWARD: Mapping[OrderStatus, frozenset[OrderStatus]] = {status: _forward(status) for status in ORDER_STATUSES}


class Move(NamedTuple):
    """One status change; ``reason`` is set when the order is cancelled."""

    status: OrderStatus
    reason: str | None = None


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    """Whether ``target`` may directly follow ``current``."""
    return target in FORWARD[current]


def settle(
    status: OrderStatus,
    *,
    payment_status: PaymentStatus | None,
    payment_reason: str | None,
    stock_reserved: bool,
) -> tuple[Move, ...]:
    """A pending order is confirmed once paid and reserved, and cancelled once declined."""
    if status != "pending":
        return ()
    if payment_status == "declined":
        return (Move("cancelled", f"{PAYMENT_DECLINED}: {payment_reason or 'no reason given'}"),)
    if payment_status == "confirmed" and stock_reserved:
        return (Move("confirmed"),)
    return ()


def refuse(status: OrderStatus, reason: str | None) -> tuple[Move, ...]:
    """A pending order whose stock could not be reserved is cancelled."""
    if status != "pending":
        return ()
    return (Move("cancelled", reason or OUT_OF_STOCK),)


def expire(status: OrderStatus, *, placed_at: datetime, now: datetime, timeout_s: float) -> tuple[Move, ...]:
    """A pending order older than the timeout is cancelled."""
    if status != "pending" or (now - placed_at).total_seconds() < timeout_s:
        return ()
    return (Move("cancelled", NOT_SETTLED_IN_TIME),)


def cancel_on_request(status: OrderStatus) -> tuple[Move, ...]:
    """The shopper's cancel wins while the goods are still here; after a dispatch it yields nothing."""
    if status not in CANCELLABLE:
        return ()
    return (Move("cancelled", CANCELLED_BY_CUSTOMER),)


def dispatch_on_request(status: OrderStatus) -> tuple[Move, ...]:
    """A clerk's *Dispatch* wins for a confirmed order only: a cancel that came first stops it.

    The orders service takes both requests, one at a time per order, so exactly one of
    ``order.dispatched`` and ``order.cancelled`` is ever published for an order, and the
    warehouse (goods out) and payments (refund) each follow the one that was.
    """
    if status != "confirmed":
        return ()
    return (Move("dispatched"),)


def fulfil(status: OrderStatus, target: OrderStatus) -> tuple[Move, ...]:
    """The fulfilment steps from ``status`` up to ``target``, skipped ones included.

    Events of one stream can be handled out of order by replicas: a delivery seen
    before its shipment still means the parcel was shipped, so both steps are made
    (each with its own event). A step behind the order, or an order that was never
    confirmed, yields nothing.
    """
    if status not in FULFILMENT or target not in FULFILMENT:
        return ()
    start, end = FULFILMENT.index(status), FULFILMENT.index(target)
    return tuple(Move(step) for step in FULFILMENT[start + 1 : end + 1])
