"""What the orders service does: places orders, settles them, follows them to the door.

Every change goes through ``_change``: it writes the row (guarded by its version) and
publishes one fat ``order.*`` event, with its own aggregate version, per status entered.
Details that change no status (a late payment) bump the version without an event, but
a refund is news to the shopper: it is published as ``order.refunded``.

The orders service decides between a shopper's cancel and a clerk's dispatch: both
arrive here as requests and the first one handled wins (the row is read FOR UPDATE
and written under its version).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, Update, bindparam, insert, select, update

from workers.contracts.orders import OrderRefunded, OrderSnapshot, OrderStatus, PaymentState
from workers.contracts.payments import PaymentSnapshot
from workers.contracts.shipping import ShipmentDelivered, ShipmentShipped, ShipmentSnapshot
from workers.contracts.storefront import CancelRequested, CheckoutSubmitted, DispatchRequested
from workers.contracts.warehouse import ReservationConfirmed, ReservationRefused
from workers.eventing import Outbox, Received, UnitOfWork
from workers.orders import domain
from workers.orders.snapshot import as_utc, snapshot
from workers.orders.tables import orders

log = logging.getLogger(__name__)

Row = dict[str, Any]

SHIPMENT_STATUS: dict[str, OrderStatus] = {
    ShipmentShipped.TYPE: "shipped",
    ShipmentDelivered.TYPE: "delivered",
}


# Statements built once (per shape): per event, building them and their cache keys cost
# more than running them (profiled under load).
_EXISTS = select(orders.c.order_id).where(orders.c.order_id == bindparam("b_order_id"))
_INSERT = insert(orders)
# FOR UPDATE: on PostgreSQL two replicas settling the same order (payment on one,
# reservation on the other) must see each other's write, not both miss it.
_LOAD = select(orders).where(orders.c.order_id == bindparam("b_order_id")).with_for_update()


@functools.cache
def _update_of(params: frozenset[str]) -> Update:
    """The guarded UPDATE of these columns (``b_<column>`` parameters), by id and version."""
    t = orders
    return (
        update(t)
        .where(t.c.order_id == bindparam("b_where_order_id"), t.c.version == bindparam("b_where_version"))
        .values({name[2:]: bindparam(name) for name in sorted(params)})
    )


class StaleOrder(RuntimeError):
    """The row changed under the handler (another replica); the event is retried."""


def place_order(event: Received[CheckoutSubmitted], uow: UnitOfWork) -> None:
    """Create the temporary order (``pending``) and announce it with ``order.placed``."""
    checkout = event.data
    if uow.conn.scalar(_EXISTS, {"b_order_id": checkout.order_id}) is not None:
        log.debug("orders: order %s exists; checkout event=%s ignored", checkout.order_id, event.envelope.id)
        return
    now = _now()
    row: Row = {
        "order_id": checkout.order_id,
        "status": "pending",
        "customer": checkout.customer.model_dump(mode="json"),
        "lines": [line.model_dump(mode="json") for line in checkout.lines],
        "total_cents": checkout.total_cents,
        "payment_method": checkout.payment_method,
        "payment": None,
        "payment_version": 0,
        "stock_reserved": False,
        "cancel_reason": None,
        "carrier": None,
        "tracking_number": None,
        "history": [_entry("pending", now)],
        "placed_at": now,
        "version": 1,
    }
    uow.conn.execute(_INSERT, row)
    uow.publish(snapshot(row), aggregate_id=checkout.order_id, aggregate_version=1)


def record_payment(event: Received[PaymentSnapshot], uow: UnitOfWork) -> None:
    """Attach the payment's state; a pending order may settle on it."""
    payment = event.data
    row = _load(uow.conn, payment.order_id)
    if row is None:
        log.warning("orders: %s for unknown order %s ignored", event.envelope.type, payment.order_id)
        return
    if event.envelope.aggregate_version <= row["payment_version"]:
        log.debug("orders: older %s for order %s ignored", event.envelope.type, payment.order_id)
        return
    state = PaymentState(
        payment_id=payment.payment_id,
        method=payment.method,
        status=payment.status,
        reason=payment.reason,
        amount_cents=payment.amount_cents,
        refunded_cents=payment.refunded_cents or (payment.amount_cents if payment.status == "refunded" else 0),
    )
    moves = domain.settle(
        row["status"],
        payment_status=payment.status,
        payment_reason=payment.reason,
        stock_reserved=row["stock_reserved"],
    )
    if row["status"] != "pending":
        log.debug("orders: order %s is %s; payment %s noted", payment.order_id, row["status"], payment.status)
    _change(
        uow,
        row,
        moves,
        payment=state.model_dump(mode="json"),
        payment_version=event.envelope.aggregate_version,
        announce=OrderRefunded if payment.status == "refunded" else None,
    )


def record_reservation(event: Received[ReservationConfirmed], uow: UnitOfWork) -> None:
    """Stock is set aside; a pending order that is paid for is confirmed."""
    row = _pending(uow.conn, event)
    if row is None:
        return
    payment = row["payment"] or {}
    moves = domain.settle(
        row["status"],
        payment_status=payment.get("status"),
        payment_reason=payment.get("reason"),
        stock_reserved=True,
    )
    _change(uow, row, moves, stock_reserved=True)


def record_refusal(event: Received[ReservationRefused], uow: UnitOfWork) -> None:
    """Stock could not be reserved: a pending order is cancelled with the warehouse's reason."""
    row = _pending(uow.conn, event)
    if row is None:
        return
    _change(uow, row, domain.refuse(row["status"], event.data.reason))


def accept_dispatch(event: Received[DispatchRequested], uow: UnitOfWork) -> None:
    """A clerk's *Dispatch*: a confirmed order is ``dispatched`` (the warehouse then takes the goods)."""
    refused = f"dispatch by {event.data.clerk} refused"
    _decide(uow, event.data.order_id, "dispatch", domain.dispatch_on_request, refused)


def accept_cancel(event: Received[CancelRequested], uow: UnitOfWork) -> None:
    """A shopper's cancel: a pending or confirmed order is ``cancelled`` (the others compensate)."""
    _decide(uow, event.data.order_id, "cancel", domain.cancel_on_request, "the customer's cancel came too late")


def _decide(
    uow: UnitOfWork,
    order_id: str,
    request: str,
    rule: Callable[[OrderStatus], tuple[domain.Move, ...]],
    refused: str,
) -> None:
    """A request for an order: the moves its ``rule`` allows from the order's status, or a line saying why none."""
    row = _load(uow.conn, order_id)
    if row is None:
        log.warning("orders: %s of unknown order %s ignored", request, order_id)
        return
    moves = rule(row["status"])
    if not moves:
        log.info("orders: order %s is %s; %s", row["order_id"], row["status"], refused)
    _change(uow, row, moves)


def record_shipment(event: Received[ShipmentSnapshot], uow: UnitOfWork) -> None:
    """The carrier has the parcel (``shipped``) or handed it over (``delivered``)."""
    shipment = event.data
    row = _load(uow.conn, shipment.order_id)
    if row is None:
        log.warning("orders: shipment of unknown order %s ignored", shipment.order_id)
        return
    moves = domain.fulfil(row["status"], SHIPMENT_STATUS[event.envelope.type])
    if not moves:
        log.debug("orders: order %s is %s; %s ignored", row["order_id"], row["status"], event.envelope.type)
        return
    _change(uow, row, moves, carrier=shipment.carrier, tracking_number=shipment.tracking_number)


def cancel_overdue(outbox: Outbox, timeout_s: float, *, batch_size: int = 100) -> int:
    """Cancel pending orders older than ``timeout_s`` ("not settled in time"); returns how many."""
    now = _now()
    overdue = (orders.c.status == "pending", orders.c.placed_at <= now - timedelta(seconds=timeout_s))
    # Look first without the write lock: most sweeps find nothing, and on SQLite a write
    # transaction every second would hold up the handlers for nothing.
    with outbox.db.snapshot() as conn:
        if conn.scalar(select(orders.c.order_id).where(*overdue).limit(1)) is None:
            return 0
    query = (
        select(orders)
        .where(*overdue)
        .order_by(orders.c.placed_at)
        .limit(batch_size)
        # Another replica sweeping (or settling) the same order: leave it to them.
        .with_for_update(skip_locked=True)
    )
    cancelled = 0
    with outbox.unit_of_work() as uow:
        for found in uow.conn.execute(query).mappings().all():
            row = dict(found)
            moves = domain.expire(row["status"], placed_at=as_utc(row["placed_at"]), now=now, timeout_s=timeout_s)
            if moves:
                _change(uow, row, moves, now=now)
                cancelled += 1
    if cancelled:
        log.info("orders: cancelled %d orders not settled within %ss", cancelled, timeout_s)
    return cancelled


def _pending(conn: Connection, event: Received[ReservationConfirmed] | Received[ReservationRefused]) -> Row | None:
    """The order a reservation event is about, if it still waits for one."""
    row = _load(conn, event.data.order_id)
    if row is None:
        log.warning("orders: %s for unknown order %s ignored", event.envelope.type, event.data.order_id)
        return None
    if row["status"] != "pending":
        log.debug("orders: order %s is %s; %s ignored", row["order_id"], row["status"], event.envelope.type)
        return None
    return row


def _load(conn: Connection, order_id: str) -> Row | None:
    found = conn.execute(_LOAD, {"b_order_id": order_id}).mappings().first()
    return dict(found) if found is not None else None


def _change(
    uow: UnitOfWork,
    row: Row,
    moves: Sequence[domain.Move],
    *,
    now: datetime | None = None,
    announce: type[OrderSnapshot] | None = None,
    **details: Any,
) -> None:
    """Write new details and statuses; publish one event (and one version) per status entered.

    Details alone publish nothing, unless ``announce`` names the event that tells of them.
    """
    updated = {**row, **details}
    if not moves:
        if updated == row:
            return
        updated["version"] += 1
        if announce is not None:
            uow.publish(snapshot(updated, announce), aggregate_id=row["order_id"], aggregate_version=updated["version"])
    at = now or _now()
    for move in moves:
        updated["status"] = move.status
        updated["history"] = [*updated["history"], _entry(move.status, at)]
        if move.reason is not None:
            updated["cancel_reason"] = move.reason
        updated["version"] += 1
        uow.publish(snapshot(updated), aggregate_id=row["order_id"], aggregate_version=updated["version"])
        uow.after_commit(partial(_log_status, row["order_id"], move))
    changes = {f"b_{key}": value for key, value in updated.items() if value != row[key]}
    params = {**changes, "b_where_order_id": row["order_id"], "b_where_version": row["version"]}
    result = uow.conn.execute(_update_of(frozenset(changes)), params)
    if result.rowcount != 1:
        raise StaleOrder(f"order {row['order_id']} changed while version {row['version']} was being updated")


def _log_status(order_id: str, move: domain.Move) -> None:
    """A business fact, once committed: one line per order and status (``pending`` only in DEBUG)."""
    level = logging.DEBUG if move.status == "pending" else logging.INFO
    reason = f" ({move.reason})" if move.reason else ""
    log.log(level, "orders: order %s %s%s", order_id, move.status, reason)


def _entry(status: OrderStatus, at: datetime) -> dict[str, str]:
    return {"status": status, "at": at.isoformat()}


def _now() -> datetime:
    return datetime.now(UTC)
