"""The payments service's own database."""

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text

METADATA = MetaData()

payments = Table(
    "payments",
    METADATA,
    Column("payment_id", String(64), primary_key=True),
    Column("order_id", String(64), nullable=False, unique=True),
    Column("amount_cents", BigInteger, nullable=False),
    # A provider token such as "pm_card_visa"; anything that is not one is never stored.
    Column("method", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Column("provider_reference", String(100), nullable=True),
    Column("refund_reference", String(100), nullable=True),
    Column("version", Integer, nullable=False),
)

# Orders cancelled before their order.placed reached this service: nothing is charged for them.
cancelled_orders = Table(
    "cancelled_orders",
    METADATA,
    Column("order_id", String(64), primary_key=True),
    Column("cancelled_at", DateTime(timezone=True), nullable=False),
)
