"""Stream ``catalog``: the products on sale."""

from __future__ import annotations

from typing import ClassVar

from workers.contracts.common import Cents, Description, ProductId, ProductName, Sku, Units
from workers.eventing.envelope import EventData


class CatalogEvent(EventData):
    """What the catalog publishes."""

    STREAM: ClassVar[str] = "catalog"


class Product(CatalogEvent):
    """The product as it stands after the event: what every catalog event but a refusal carries."""

    product_id: ProductId
    sku: Sku
    name: ProductName
    description: Description
    price_cents: Cents


class ProductCreated(Product):
    """A product was added to the catalog; ``opening_stock`` is what the warehouse starts with."""

    TYPE: ClassVar[str] = "product.created"

    opening_stock: Units
    request_id: str | None = None


class ProductUpdated(Product):
    """A product's name, description, price or sale state changed: the whole product after it."""

    TYPE: ClassVar[str] = "product.updated"

    archived: bool
    request_id: str | None = None


class ProductRefused(CatalogEvent):
    """A manager's request was refused by the catalog (a sku or id taken meanwhile, an unknown product)."""

    TYPE: ClassVar[str] = "product.refused"

    request_id: str
    product_id: ProductId
    field: str
    reason: str
