"""The orders service's own database: one row per order, with its lines, history and payment inline."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from workers.eventing.tables import backbone_tables, json, key, string, table_of, text


class OrdersTable(SQLModel, registry=registry()):
    """The orders database's tables."""


class Order(OrdersTable, table=True):
    __tablename__ = "orders"
    order_id: str = key()
    status: str = string(20)
    customer: dict[str, Any] = json()
    lines: list[Any] = json()
    total_cents: int = Field(sa_type=BigInteger)
    payment_method: str = text()
    payment: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    # The payment's aggregate version last applied: a reordered payment event never undoes a newer one.
    payment_version: int = 0
    stock_reserved: bool = False
    cancel_reason: str | None = text(default=None)
    carrier: str | None = string(100, default=None)
    tracking_number: str | None = string(100, default=None)
    history: list[Any] = json()
    placed_at: datetime = Field(sa_type=DateTime(timezone=True))
    version: int


METADATA = OrdersTable.metadata
orders = table_of(Order)
backbone_tables(METADATA)

# The pending-timeout sweep looks for old pending orders.
Index("ix_orders_status_placed_at", orders.c.status, orders.c.placed_at)
