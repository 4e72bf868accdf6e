"""Stream ``catalog``: the products on sale."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from workers.eventing.envelope import EventData


class ProductCreated(EventData):
    """A product was added to the catalog; ``opening_stock`` is what the warehouse starts with."""

    TYPE: ClassVar[str] = "product.created"
    STREAM: ClassVar[str] = "catalog"

    product_id: int = Field(ge=1)
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(max_length=2000)
    price_cents: int = Field(ge=0)
    opening_stock: int = Field(ge=0)
    request_id: str | None = None


class ProductUpdated(EventData):
    """A product's name, description, price or sale state changed: the whole product after it."""

    TYPE: ClassVar[str] = "product.updated"
    STREAM: ClassVar[str] = "catalog"

    product_id: int = Field(ge=1)
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(max_length=2000)
    price_cents: int = Field(ge=0)
    archived: bool
    request_id: str | None = None


class ProductRefused(EventData):
    """A manager's request was refused by the catalog (a sku or id taken meanwhile, an unknown product)."""

    TYPE: ClassVar[str] = "product.refused"
    STREAM: ClassVar[str] = "catalog"

    request_id: str
    product_id: int = Field(ge=1)
    field: str
    reason: str
