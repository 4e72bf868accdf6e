"""Value objects several contracts share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Customer(Value):
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)


class Line(Value):
    """One product in an order, priced when the shopper checked out."""

    product_id: int = Field(ge=1)
    sku: str
    name: str
    unit_price_cents: int = Field(ge=0)
    quantity: int = Field(ge=1)
    line_total_cents: int = Field(ge=0)


class Quantity(Value):
    product_id: int = Field(ge=1)
    quantity: int = Field(ge=1)
