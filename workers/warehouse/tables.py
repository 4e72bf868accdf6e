"""The warehouse's own database."""

from typing import Any

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from workers.eventing.tables import backbone_tables, json, key, string, table_of, text


class WarehouseTable(SQLModel, registry=registry()):
    """The warehouse database's tables."""


class Stock(WarehouseTable, table=True):
    __tablename__ = "stock"
    # The database itself refuses negative stock, whatever a handler does.
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="ck_stock_reserved_not_negative"),
        CheckConstraint("on_hand >= reserved", name="ck_stock_reserved_within_on_hand"),
    )
    product_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    sku: str = string(64)
    on_hand: int
    reserved: int
    version: int


class Reservation(WarehouseTable, table=True):
    __tablename__ = "reservations"
    order_id: str = key()
    status: str = string(20)
    # [[product_id, quantity], ...] summed per product: what is (or would have been) held.
    lines: list[Any] = json()
    reason: str | None = text(default=None)
    version: int
    updated_at: float


METADATA = WarehouseTable.metadata
stock = table_of(Stock)
reservations = table_of(Reservation)
backbone_tables(METADATA)
