"""What the warehouse does with each event: stock in, reservations held and released, goods out.

Handlers that change a reservation read it ``FOR UPDATE``, so replicas handling two
events of one order take turns. Goods leave on ``order.dispatched``: the orders service
decides between a clerk's dispatch and a shopper's cancel, and the warehouse follows
(it sees ``order.dispatched`` or ``order.cancelled`` for an order, never both).
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Connection, Update, bindparam, insert, select, update

from workers.contracts.catalog import ProductCreated
from workers.contracts.common import Quantity
from workers.contracts.orders import OrderCancelled, OrderDispatched, OrderPlaced
from workers.contracts.storefront import RestockRequested
from workers.contracts.warehouse import (
    DispatchCompleted,
    ReservationConfirmed,
    ReservationRefused,
    ReservationReleased,
    ReservationSnapshot,
)
from workers.eventing import Handler, Received, UnitOfWork
from workers.warehouse.reservation import (
    Need,
    Published,
    Status,
    needs_of,
    out_of_stock,
    plan_reservation,
)
from workers.warehouse.shelves import Shortfall, StockRow, adjust, announce, hold, shelves
from workers.warehouse.tables import reservations, stock

log = logging.getLogger(__name__)

Snapshot = TypeVar("Snapshot", bound=ReservationSnapshot)


class StockInvariantBroken(RuntimeError):
    """Units a reservation holds are not reserved on the shelf; the event is retried, then dead-lettered."""


class Reservation(NamedTuple):
    order_id: str
    status: Status
    needs: tuple[Need, ...]
    reason: str | None
    version: int


def create_stock(event: Received[ProductCreated], uow: UnitOfWork) -> None:
    """A new product arrives with its opening stock; a product already known is left alone."""
    product = event.data
    if uow.conn.scalar(select(stock.c.product_id).where(stock.c.product_id == product.product_id)) is not None:
        log.debug("warehouse: product %s already stocked", product.product_id)
        return
    row = StockRow(product.product_id, product.sku, product.opening_stock, 0, 1)
    uow.conn.execute(insert(stock).values(row._asdict()))
    announce(uow, row, "restock", on_hand=row.on_hand, available=row.on_hand, order_id=None)


def reserve(event: Received[OrderPlaced], uow: UnitOfWork) -> None:
    """Set aside every line of a new order, or none of them and say why."""
    order = event.data
    existing = _load(uow.conn, order.order_id)
    if existing is not None:
        # A tombstone (cancelled first) or an order handled before: nothing to do.
        log.debug("warehouse: order %s already %s; not reserving", order.order_id, existing.status)
        return
    needs = needs_of((line.product_id, line.quantity) for line in order.lines)
    available = shelves(uow.conn, (need.product_id for need in needs))
    plan = plan_reservation(needs, available)
    rows: list[StockRow] = []
    refusal = plan.refusal
    if plan.feasible:
        try:
            rows = hold(uow.conn, plan.needs)
        except Shortfall as short:  # another replica took the units between our read and our update
            refusal = out_of_stock([available[short.need.product_id].sku])
    if refusal is not None:
        refused = _insert(uow.conn, order.order_id, "refused", needs, reason=refusal)
        uow.publish(_snapshot(ReservationRefused, refused, "refused"), aggregate_id=order.order_id, aggregate_version=1)
        return
    held = _insert(uow.conn, order.order_id, "held", needs, reason=None)
    uow.publish(_snapshot(ReservationConfirmed, held, "held"), aggregate_id=order.order_id, aggregate_version=1)
    for row, need in zip(rows, needs, strict=True):
        announce(uow, row, "reserve", on_hand=0, available=-need.quantity, order_id=order.order_id)


def release(event: Received[OrderCancelled], uow: UnitOfWork) -> None:
    """Put a cancelled order's units back; cancelled before placed: remember it, reserve nothing later."""
    order = event.data
    current = _load(uow.conn, order.order_id)
    if current is None:
        needs = needs_of((line.product_id, line.quantity) for line in order.lines)
        _insert(uow.conn, order.order_id, "cancelled", needs, reason=order.cancel_reason)
        log.debug("warehouse: order %s cancelled before it was placed; tombstone kept", order.order_id)
        return
    if current.status != "held":
        log.debug("warehouse: order %s cancelled; reservation %s, nothing to release", order.order_id, current.status)
        return
    for need in current.needs:
        row = _change(uow.conn, current, need, reserved=-need.quantity)
        announce(uow, row, "release", on_hand=0, available=need.quantity, order_id=order.order_id)
    released = _update(uow.conn, current, status="released")
    uow.publish(
        _snapshot(ReservationReleased, released, "released"),
        aggregate_id=order.order_id,
        aggregate_version=released.version,
    )


def take_off_shelf(event: Received[OrderDispatched], uow: UnitOfWork) -> None:
    """The orders service accepted the clerk's *Dispatch*: the held goods leave the shelf."""
    order_id = event.data.order_id
    current = _load(uow.conn, order_id)
    if current is None or current.status != "held":
        status = current.status if current is not None else "unknown"
        log.warning("warehouse: order %s dispatched but its reservation is %s; nothing taken", order_id, status)
        return
    for need in current.needs:
        row = _change(uow.conn, current, need, on_hand=-need.quantity, reserved=-need.quantity)
        announce(uow, row, "dispatch", on_hand=-need.quantity, available=0, order_id=current.order_id)
    dispatched = _update(uow.conn, current, status="dispatched")
    uow.publish(
        _snapshot(DispatchCompleted, dispatched, "dispatched"),
        aggregate_id=current.order_id,
        aggregate_version=dispatched.version,
    )
    units = sum(need.quantity for need in current.needs)
    uow.after_commit(partial(log.info, "warehouse: order %s dispatched (%d units)", current.order_id, units))


def restock(event: Received[RestockRequested], uow: UnitOfWork) -> None:
    """More units on the shelf of a known product."""
    request = event.data
    row = adjust(uow.conn, request.product_id, on_hand=request.quantity)
    if row is None:
        log.warning("warehouse: restock of unknown product %s by %s; ignored", request.product_id, request.clerk)
        return
    announce(uow, row, "restock", on_hand=request.quantity, available=request.quantity, order_id=None)


HANDLERS: dict[str, Handler] = {
    ProductCreated.TYPE: create_stock,
    OrderPlaced.TYPE: reserve,
    OrderCancelled.TYPE: release,
    OrderDispatched.TYPE: take_off_shelf,
    RestockRequested.TYPE: restock,
}


def _change(conn: Connection, current: Reservation, need: Need, *, reserved: int, on_hand: int = 0) -> StockRow:
    """Take a held reservation's units off ``reserved`` (and maybe off the shelf)."""
    row = adjust(conn, need.product_id, on_hand=on_hand, reserved=reserved, require_reserved=need.quantity)
    if row is None:
        raise StockInvariantBroken(
            f"order {current.order_id} holds {need.quantity} of product {need.product_id}, which has fewer reserved"
        )
    return row


# Statements built once (per shape): per event, building them cost more than running them.
_LOAD = select(reservations).where(reservations.c.order_id == bindparam("b_order_id")).with_for_update()
_INSERT = insert(reservations)


@functools.cache
def _update_of(columns: frozenset[str]) -> Update:
    t = reservations
    return (
        update(t)
        .where(t.c.order_id == bindparam("b_order_id"))
        .values({name: bindparam(f"b_{name}") for name in sorted(columns)})
    )


def _load(conn: Connection, order_id: str) -> Reservation | None:
    row = conn.execute(_LOAD, {"b_order_id": order_id}).one_or_none()
    if row is None:
        return None
    return Reservation(
        order_id=row.order_id,
        status=cast(Status, row.status),
        needs=tuple(Need(int(product_id), int(quantity)) for product_id, quantity in row.lines),
        reason=row.reason,
        version=row.version,
    )


def _insert(
    conn: Connection, order_id: str, status: Status, needs: tuple[Need, ...], reason: str | None
) -> Reservation:
    created = Reservation(order_id, status, needs, reason, version=1)
    values: dict[str, Any] = created._asdict()
    values.pop("needs")
    conn.execute(_INSERT, {**values, "lines": [list(need) for need in needs], "updated_at": time.time()})
    return created


def _update(conn: Connection, current: Reservation, **changes: Any) -> Reservation:
    changed = current._replace(**changes, version=current.version + 1)
    values = {**changes, "version": changed.version, "updated_at": time.time()}
    params = {f"b_{name}": value for name, value in values.items()}
    conn.execute(_update_of(frozenset(values)), {**params, "b_order_id": current.order_id})
    return changed


def _snapshot(model: type[Snapshot], reservation: Reservation, status: Published) -> Snapshot:
    return model(
        order_id=reservation.order_id,
        status=status,
        lines=[Quantity(product_id=need.product_id, quantity=need.quantity) for need in reservation.needs],
        reason=reservation.reason,
        at=datetime.now(UTC),
    )
