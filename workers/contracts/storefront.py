"""Stream ``storefront``: what shoppers and clerks asked the gateway for."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from workers.contracts.common import Customer, Line
from workers.eventing.envelope import EventData


class CheckoutSubmitted(EventData):
    """A shopper checked out; the gateway validated the cart against its read model."""

    TYPE: ClassVar[str] = "checkout.submitted"
    STREAM: ClassVar[str] = "storefront"

    order_id: str
    customer: Customer
    lines: list[Line] = Field(min_length=1)
    total_cents: int = Field(ge=0)
    payment_method: str
    submitted_at: datetime


class DispatchRequested(EventData):
    """A clerk clicked *Dispatch* for a confirmed order."""

    TYPE: ClassVar[str] = "dispatch.requested"
    STREAM: ClassVar[str] = "storefront"

    order_id: str
    clerk: str
    requested_at: datetime


class RestockRequested(EventData):
    """A clerk put more units of a product on the shelf."""

    TYPE: ClassVar[str] = "restock.requested"
    STREAM: ClassVar[str] = "storefront"

    request_id: str
    product_id: int = Field(ge=1)
    quantity: int = Field(ge=1)
    clerk: str
    requested_at: datetime
