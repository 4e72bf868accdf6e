"""Value objects several contracts share."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# A product's fields as every contract that carries them limits them.
SKU_MAX, NAME_MAX, DESCRIPTION_MAX = 64, 200, 2000
ProductId = Annotated[int, Field(ge=1)]
Sku = Annotated[str, Field(min_length=1, max_length=SKU_MAX)]
ProductName = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX)]
Cents = Annotated[int, Field(ge=0)]
Units = Annotated[int, Field(ge=0)]


class Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Customer(Value):
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)


class Line(Value):
    """One product in an order, priced when the shopper checked out."""

    product_id: ProductId
    sku: str
    name: str
    unit_price_cents: Cents
    quantity: int = Field(ge=1)
    line_total_cents: Cents


class Quantity(Value):
    product_id: ProductId
    quantity: int = Field(ge=1)
