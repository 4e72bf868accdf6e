"""Stream ``storefront``: what shoppers and clerks asked the gateway for."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from workers.contracts.common import Cents, Customer, Description, Line, ProductId, ProductName, Sku, Units
from workers.eventing.envelope import EventData


class StorefrontRequest(EventData):
    """What the gateway publishes: shoppers', clerks' and managers' requests."""

    STREAM: ClassVar[str] = "storefront"


class CheckoutSubmitted(StorefrontRequest):
    """A shopper checked out; the gateway validated the cart against its read model."""

    TYPE: ClassVar[str] = "checkout.submitted"

    order_id: str
    customer: Customer
    lines: list[Line] = Field(min_length=1)
    total_cents: Cents
    payment_method: str
    submitted_at: datetime


class DispatchRequested(StorefrontRequest):
    """A clerk clicked *Dispatch* for a confirmed order."""

    TYPE: ClassVar[str] = "dispatch.requested"

    order_id: str
    clerk: str
    requested_at: datetime


class RestockRequested(StorefrontRequest):
    """A clerk put more units of a product on the shelf."""

    TYPE: ClassVar[str] = "restock.requested"

    request_id: str
    product_id: ProductId
    quantity: int = Field(ge=1)
    clerk: str
    requested_at: datetime


class CancelRequested(StorefrontRequest):
    """A shopper asked to cancel their order; the orders service decides whether it still can be."""

    TYPE: ClassVar[str] = "cancel.requested"

    order_id: str
    requested_at: datetime


class ProductCreateRequested(StorefrontRequest):
    """A manager asked for a new product; ``product_id`` was chosen by the gateway, the catalog confirms or refuses."""

    TYPE: ClassVar[str] = "product.create_requested"

    request_id: str
    product_id: ProductId
    sku: Sku
    name: ProductName
    description: Description
    price_cents: Cents
    opening_stock: Units
    manager: str
    requested_at: datetime


class ProductUpdateRequested(StorefrontRequest):
    """A manager asked to change a product; only the fields given (not None) change."""

    TYPE: ClassVar[str] = "product.update_requested"

    request_id: str
    product_id: ProductId
    name: ProductName | None = None
    description: Description | None = None
    price_cents: Cents | None = None
    archived: bool | None = None
    manager: str
    requested_at: datetime
