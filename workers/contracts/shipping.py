"""Stream ``shipping``: parcels handed to the carrier and delivered."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from workers.eventing.envelope import EventData


class ShipmentSnapshot(EventData):
    STREAM: ClassVar[str] = "shipping"

    shipment_id: str
    order_id: str
    carrier: str
    tracking_number: str
    status: Literal["awaiting_pickup", "shipped", "delivered"]
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None


class ShipmentShipped(ShipmentSnapshot):
    TYPE: ClassVar[str] = "shipment.shipped"


class ShipmentDelivered(ShipmentSnapshot):
    TYPE: ClassVar[str] = "shipment.delivered"
