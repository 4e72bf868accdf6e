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


class CancelRequested(EventData):
    """A shopper asked to cancel their order; the orders service decides whether it still can be."""

    TYPE: ClassVar[str] = "cancel.requested"
    STREAM: ClassVar[str] = "storefront"

    order_id: str
    requested_at: datetime


class ProductCreateRequested(EventData):
    """A manager asked for a new product; ``product_id`` was chosen by the gateway, the catalog confirms or refuses."""

    TYPE: ClassVar[str] = "product.create_requested"
    STREAM: ClassVar[str] = "storefront"

    request_id: str
    product_id: int = Field(ge=1)
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(max_length=2000)
    price_cents: int = Field(ge=0)
    opening_stock: int = Field(ge=0)
    manager: str
    requested_at: datetime


class ProductUpdateRequested(EventData):
    """A manager asked to change a product; only the fields given (not None) change."""

    TYPE: ClassVar[str] = "product.update_requested"
    STREAM: ClassVar[str] = "storefront"

    request_id: str
    product_id: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    price_cents: int | None = Field(default=None, ge=0)
    archived: bool | None = None
    manager: str
    requested_at: datetime
