"""Driving the warehouse the way the rest of the system does, and reading its stock back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import select

from tests.support.harness import ServiceHarness
from tests.workers.order_snapshots import order_event
from workers.contracts.catalog import ProductCreated
from workers.contracts.orders import OrderCancelled, OrderConfirmed, OrderDispatched, OrderPlaced
from workers.contracts.stock import StockChanged
from workers.contracts.storefront import RestockRequested
from workers.eventing import Envelope
from workers.eventing.ids import uuid7
from workers.warehouse.tables import reservations, stock


class Stock(NamedTuple):
    on_hand: int
    reserved: int
    version: int


def create_product(warehouse: ServiceHarness, product_id: int, opening_stock: int) -> Envelope:
    data = ProductCreated(
        product_id=product_id,
        sku=f"SKU-{product_id}",
        name=f"Product {product_id}",
        description="",
        price_cents=1000,
        opening_stock=opening_stock,
    )
    return warehouse.publish(data, aggregate_id=str(product_id))


def place(warehouse: ServiceHarness, order_id: str, lines: Sequence[tuple[int, int]]) -> Envelope:
    return warehouse.publish(order_event(OrderPlaced, order_id, lines), aggregate_id=order_id)


def confirm(warehouse: ServiceHarness, order_id: str, lines: Sequence[tuple[int, int]]) -> Envelope:
    data = order_event(OrderConfirmed, order_id, lines, stock_reserved=True)
    return warehouse.publish(data, aggregate_id=order_id, aggregate_version=2)


def cancel(warehouse: ServiceHarness, order_id: str, lines: Sequence[tuple[int, int]]) -> Envelope:
    data = order_event(OrderCancelled, order_id, lines, cancel_reason="payment declined: card_declined")
    return warehouse.publish(data, aggregate_id=order_id, aggregate_version=2)


def dispatch(warehouse: ServiceHarness, order_id: str, lines: Sequence[tuple[int, int]]) -> Envelope:
    """The orders service accepted a clerk's *Dispatch* for a confirmed order."""
    data = order_event(OrderDispatched, order_id, lines, stock_reserved=True)
    return warehouse.publish(data, aggregate_id=order_id, aggregate_version=3)


def request_restock(warehouse: ServiceHarness, product_id: int, quantity: int) -> Envelope:
    request_id = uuid7()
    data = RestockRequested(
        request_id=request_id, product_id=product_id, quantity=quantity, clerk="clerk", requested_at=datetime.now(UTC)
    )
    return warehouse.publish(data, aggregate_id=request_id)


def stock_of(warehouse: ServiceHarness, product_id: int) -> Stock | None:
    with warehouse.db.engine.connect() as conn:
        row = conn.execute(
            select(stock.c.on_hand, stock.c.reserved, stock.c.version).where(stock.c.product_id == product_id)
        ).one_or_none()
    return Stock(*row) if row is not None else None


def reservation_of(warehouse: ServiceHarness, order_id: str) -> dict[str, Any] | None:
    with warehouse.db.engine.connect() as conn:
        row = conn.execute(select(reservations).where(reservations.c.order_id == order_id)).one_or_none()
    return dict(row._mapping) if row is not None else None


def stock_changes(warehouse: ServiceHarness, cause: str | None = None) -> list[StockChanged]:
    """The ``stock.changed`` data the warehouse published, oldest first."""
    events = [received.data for received in warehouse.published("stock", "stock.changed")]
    return [event for event in events if cause is None or event.cause == cause]


def types_on(warehouse: ServiceHarness, stream: str) -> list[str]:
    return [received.envelope.type for received in warehouse.published(stream)]
