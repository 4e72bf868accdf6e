"""The shipping service's own database."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from workers.eventing.tables import backbone_tables, key, string, table_of


class ShippingTable(SQLModel, registry=registry()):
    """The shipping database's tables."""


class Shipment(ShippingTable, table=True):
    __tablename__ = "shipments"
    shipment_id: str = key()
    # One shipment per order, however often the order's dispatch is delivered.
    order_id: str = string(64, unique=True)
    carrier: str = string(50)
    tracking_number: str = string(50)
    status: str = string(20, index=True)
    created_at: float
    shipped_at: float | None = None
    delivered_at: float | None = None
    version: int


METADATA = ShippingTable.metadata
shipments = table_of(Shipment)
backbone_tables(METADATA)
