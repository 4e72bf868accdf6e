"""The shipping service's own database."""

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table

METADATA = MetaData()

shipments = Table(
    "shipments",
    METADATA,
    Column("shipment_id", String(64), primary_key=True),
    # One shipment per order, however often the order's dispatch is delivered.
    Column("order_id", String(64), nullable=False, unique=True),
    Column("carrier", String(50), nullable=False),
    Column("tracking_number", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("shipped_at", Float, nullable=True),
    Column("delivered_at", Float, nullable=True),
    Column("version", Integer, nullable=False),
)
Index("ix_shipments_status", shipments.c.status)
