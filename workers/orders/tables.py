"""The orders service's own database: one row per order, with its lines, history and payment inline."""

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table, Text

METADATA = MetaData()

orders = Table(
    "orders",
    METADATA,
    Column("order_id", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("customer", JSON, nullable=False),
    Column("lines", JSON, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("payment_method", Text, nullable=False),
    Column("payment", JSON(none_as_null=True), nullable=True),
    # The payment's aggregate version last applied: a reordered payment event never undoes a newer one.
    Column("payment_version", Integer, nullable=False, default=0),
    Column("stock_reserved", Boolean, nullable=False, default=False),
    Column("cancel_reason", Text, nullable=True),
    Column("carrier", String(100), nullable=True),
    Column("tracking_number", String(100), nullable=True),
    Column("history", JSON, nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
)

# The pending-timeout sweep looks for old pending orders.
Index("ix_orders_status_placed_at", orders.c.status, orders.c.placed_at)
