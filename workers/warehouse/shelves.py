"""Stock rows, changed only by conditional UPDATEs, and the ``stock.changed`` event of each change.

Every change is one ``UPDATE ... WHERE <guard> RETURNING``: the guard is checked by the
database against the row as it is when the row lock is taken, so replicas sharing a
PostgreSQL database cannot both take the last unit, and nothing ever goes negative.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.sql.dml import ReturningUpdate

from workers.contracts.stock import Cause, StockChanged, StockDelta
from workers.eventing import UnitOfWork
from workers.warehouse.reservation import Need, Shelf
from workers.warehouse.tables import stock


class StockRow(NamedTuple):
    product_id: int
    sku: str
    on_hand: int
    reserved: int
    version: int


class Shortfall(Exception):
    """A conditional UPDATE found less than it needed: the shelf changed since it was read."""

    def __init__(self, need: Need) -> None:
        super().__init__(f"product {need.product_id}: fewer than {need.quantity} available")
        self.need = need


# Statements built once (per shape): building one per event, and its cache key, cost
# more than running it (profiled under load).
_SHELVES = select(stock.c.product_id, stock.c.sku, stock.c.on_hand, stock.c.reserved).where(
    stock.c.product_id.in_(bindparam("ids", expanding=True))
)


def shelves(conn: Connection, product_ids: Iterable[int]) -> dict[int, Shelf]:
    """What is available of each of these products (unknown ones are absent)."""
    rows = conn.execute(_SHELVES, {"ids": list(product_ids)})
    return {row.product_id: Shelf(row.sku, row.on_hand - row.reserved) for row in rows}


@functools.cache
def _adjust(require_available: bool, require_reserved: bool) -> ReturningUpdate[Any]:
    t = stock
    query = update(t).where(t.c.product_id == bindparam("b_product_id"))
    if require_available:
        query = query.where(t.c.on_hand - t.c.reserved >= bindparam("b_available"))
    if require_reserved:
        query = query.where(t.c.reserved >= bindparam("b_reserved"))
    return query.values(
        on_hand=t.c.on_hand + bindparam("b_on_hand_delta"),
        reserved=t.c.reserved + bindparam("b_reserved_delta"),
        version=t.c.version + 1,
    ).returning(t.c.product_id, t.c.sku, t.c.on_hand, t.c.reserved, t.c.version)


def adjust(
    conn: Connection,
    product_id: int,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    require_available: int = 0,
    require_reserved: int = 0,
) -> StockRow | None:
    """Add to on_hand/reserved if the row exists and meets the guards; the row after, or None."""
    params = {
        "b_product_id": product_id,
        "b_available": require_available,
        "b_reserved": require_reserved,
        "b_on_hand_delta": on_hand,
        "b_reserved_delta": reserved,
    }
    row = conn.execute(_adjust(bool(require_available), bool(require_reserved)), params).one_or_none()
    return StockRow(*row) if row is not None else None


def hold(conn: Connection, needs: Iterable[Need]) -> list[StockRow]:
    """Reserve every need, or none: on a shortfall the ones already taken are rolled back.

    The savepoint keeps the undo inside the caller's transaction (and its batch).
    Raises ``Shortfall`` naming the first need that did not fit.
    """
    with conn.begin_nested():
        rows = []
        for need in needs:
            row = adjust(conn, need.product_id, reserved=need.quantity, require_available=need.quantity)
            if row is None:
                raise Shortfall(need)
            rows.append(row)
        return rows


def announce(
    uow: UnitOfWork, row: StockRow, cause: Cause, *, on_hand: int, available: int, order_id: str | None
) -> None:
    """Publish the ``stock.changed`` of one product: its figures after the change and the change."""
    uow.publish(
        StockChanged(
            product_id=row.product_id,
            sku=row.sku,
            on_hand=row.on_hand,
            reserved=row.reserved,
            available=row.on_hand - row.reserved,
            delta=StockDelta(on_hand=on_hand, available=available),
            cause=cause,
            order_id=order_id,
        ),
        aggregate_id=str(row.product_id),
        aggregate_version=row.version,
    )
