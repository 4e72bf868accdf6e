"""What a clerk asks of the warehouse, recorded in the gateway's outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from app.http.errors import ApiError
from app.read_model import queries, tables
from app.shop.product_requests import request_for_product
from workers.contracts.storefront import DispatchRequested, RestockRequested
from workers.eventing import Outbox, tracing

MAX_RESTOCK = 10_000


def request_dispatch(outbox: Outbox, order_id: str, clerk: str) -> None:
    """Ask for a confirmed order's dispatch: the orders service accepts it unless a cancel won.

    A span in the order's trace (workers/eventing/tracing.py).
    """
    with tracing.in_saga(order_id, "dispatch requested"), outbox.unit_of_work() as uow:
        row = queries.order_row(uow.conn, order_id, for_update=True)
        if row is None:
            raise ApiError(404, "No such order.")
        if row.status != "confirmed":
            raise ApiError(409, f"Only confirmed orders can be dispatched; this one is {row.status}.")
        if row.cancel_requested:
            raise ApiError(409, "The customer cancelled this order.")
        uow.conn.execute(
            update(tables.orders).where(tables.orders.c.order_id == order_id).values(dispatch_requested=True)
        )
        uow.publish(
            DispatchRequested(order_id=order_id, clerk=clerk, requested_at=datetime.now(UTC)),
            aggregate_id=order_id,
            aggregate_version=row.version,
            correlation_id=order_id,
        )


def request_restock(outbox: Outbox, product_id: int, quantity: object, clerk: str) -> str:
    """Ask the warehouse to add units of a product; returns the request id."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_RESTOCK:
        raise ApiError(422, "Invalid restock.", {"quantity": f"must be a whole number from 1 to {MAX_RESTOCK}"})
    return request_for_product(
        outbox,
        product_id,
        queries.product,
        lambda request_id: RestockRequested(
            request_id=request_id, product_id=product_id, quantity=quantity, clerk=clerk, requested_at=datetime.now(UTC)
        ),
    )
