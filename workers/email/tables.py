"""The email service's own database."""

from sqlalchemy import Column, Float, MetaData, String, Table

METADATA = MetaData()

notifications = Table(
    "notifications",
    METADATA,
    # The key is the promise: one email per order and status, however often the event comes.
    Column("order_id", String(64), primary_key=True),
    Column("status", String(20), primary_key=True),
    Column("message_id", String(200), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("sent_at", Float, nullable=False),
)
