"""The warehouse's own database."""

from sqlalchemy import JSON, CheckConstraint, Column, Float, Integer, MetaData, String, Table, Text

METADATA = MetaData()

stock = Table(
    "stock",
    METADATA,
    Column("product_id", Integer, primary_key=True, autoincrement=False),
    Column("sku", String(64), nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    # The database itself refuses negative stock, whatever a handler does.
    CheckConstraint("reserved >= 0", name="ck_stock_reserved_not_negative"),
    CheckConstraint("on_hand >= reserved", name="ck_stock_reserved_within_on_hand"),
)

reservations = Table(
    "reservations",
    METADATA,
    Column("order_id", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    # [[product_id, quantity], ...] summed per product: what is (or would have been) held.
    Column("lines", JSON, nullable=False),
    Column("reason", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)
