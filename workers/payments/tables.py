"""The payments service's own database."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from workers.eventing.tables import backbone_tables, key, string, table_of, text


class PaymentsTable(SQLModel, registry=registry()):
    """The payments database's tables."""


class Payment(PaymentsTable, table=True):
    __tablename__ = "payments"
    payment_id: str = key()
    order_id: str = string(64, unique=True)
    amount_cents: int = Field(sa_type=BigInteger)
    # A provider token such as "pm_card_visa"; anything that is not one is never stored.
    method: str = string(64)
    status: str = string(20)
    reason: str | None = text(default=None)
    provider_reference: str | None = string(100, default=None)
    refund_reference: str | None = string(100, default=None)
    version: int


class CancelledOrder(PaymentsTable, table=True):
    """An order cancelled before its order.placed reached this service: nothing is charged for it."""

    __tablename__ = "cancelled_orders"
    order_id: str = key()
    cancelled_at: datetime = Field(sa_type=DateTime(timezone=True))


METADATA = PaymentsTable.metadata
payments = table_of(Payment)
cancelled_orders = table_of(CancelledOrder)
backbone_tables(METADATA)
