"""What shipping does: a shipment per dispatched order, then the carrier's tick moves it along."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal, NamedTuple

from sqlalchemy import ColumnElement, Connection, Row, insert, select, update

from workers.contracts.orders import OrderDispatched
from workers.contracts.shipping import ShipmentDelivered, ShipmentShipped
from workers.eventing import Database, Handler, Outbox, Received, UnitOfWork
from workers.eventing.ids import uuid7
from workers.shipping.carrier import CARRIER, Pace, tracking_number
from workers.shipping.tables import shipments

log = logging.getLogger(__name__)

# Parcels moved per tick at most; the rest follow on the next ones.
TICK_BATCH = 100


def create_shipment(event: Received[OrderDispatched], uow: UnitOfWork) -> None:
    """A dispatched order becomes a parcel awaiting the carrier's pickup (once per order)."""
    order_id = event.data.order_id
    t = shipments
    if uow.conn.scalar(select(t.c.shipment_id).where(t.c.order_id == order_id)) is not None:
        log.debug("shipping: order %s already has a shipment", order_id)
        return
    shipment_id = uuid7()
    uow.conn.execute(
        insert(t).values(
            shipment_id=shipment_id,
            order_id=order_id,
            carrier=CARRIER,
            tracking_number=tracking_number(order_id),
            status="awaiting_pickup",
            created_at=time.time(),
            version=1,
        )
    )
    log.debug("shipping: shipment %s for order %s awaits pickup", shipment_id, order_id)


HANDLERS: dict[str, Handler] = {OrderDispatched.TYPE: create_shipment}


class Due(NamedTuple):
    """Parcels the carrier should move this round."""

    to_deliver: list[Row[Any]]
    to_ship: list[Row[Any]]


def run_carrier(outbox: Outbox, pace: Pace, clock: Callable[[], float] = time.time) -> None:
    """One round of the simulated carrier: deliver what travelled long enough, pick up what waited."""
    now = clock()
    due = due_parcels(outbox.db, pace, now)
    if due.to_deliver or due.to_ship:
        move_parcels(outbox, due, now)


def due_parcels(db: Database, pace: Pace, now: float) -> Due:
    """What is due at ``now``, read without the write lock (most rounds find nothing)."""
    t = shipments
    with db.snapshot() as conn:
        return Due(
            to_deliver=_due(conn, t.c.status == "shipped", t.c.shipped_at <= pace.delivered_if_shipped_since(now)),
            to_ship=_due(conn, t.c.status == "awaiting_pickup", t.c.created_at <= pace.picked_up_if_waiting_since(now)),
        )


def move_parcels(outbox: Outbox, due: Due, now: float) -> None:
    """Move each due parcel one step, in one transaction, skipping any another replica moved first.

    Deliveries come from what was shipped before this round, so a parcel moves at most one step per round.
    """
    with outbox.unit_of_work() as uow:
        for row in due.to_deliver:
            _advance(uow, row, "shipped", "delivered", now)
        for row in due.to_ship:
            _advance(uow, row, "awaiting_pickup", "shipped", now)


def _due(conn: Connection, *conditions: ColumnElement[bool]) -> list[Row[Any]]:
    query = select(shipments).where(*conditions).order_by(shipments.c.created_at).limit(TICK_BATCH)
    return list(conn.execute(query))


def _advance(
    uow: UnitOfWork,
    row: Row[Any],
    before: Literal["awaiting_pickup", "shipped"],
    after: Literal["shipped", "delivered"],
    now: float,
) -> None:
    """Move one parcel on, unless another replica's carrier already did (the status guard)."""
    t = shipments
    stamp: dict[str, float] = {"shipped_at": now} if after == "shipped" else {"delivered_at": now}
    moved = uow.conn.execute(
        update(t)
        .where(t.c.shipment_id == row.shipment_id, t.c.status == before)
        .values(status=after, version=t.c.version + 1, **stamp)
        .returning(t)
    ).one_or_none()
    if moved is None:
        log.debug("shipping: shipment %s was already %s", row.shipment_id, after)
        return
    model = ShipmentShipped if after == "shipped" else ShipmentDelivered
    uow.publish(
        model(
            shipment_id=moved.shipment_id,
            order_id=moved.order_id,
            carrier=moved.carrier,
            tracking_number=moved.tracking_number,
            status=after,
            shipped_at=_at(moved.shipped_at),
            delivered_at=_at(moved.delivered_at),
        ),
        aggregate_id=moved.shipment_id,
        aggregate_version=moved.version,
        correlation_id=moved.order_id,  # no event caused the tick: the saga's id is the order's
    )
    uow.after_commit(partial(log.info, "shipping: order %s %s (shipment %s)", moved.order_id, after, moved.shipment_id))


def _at(stamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None
