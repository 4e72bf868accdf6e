"""Stream ``stock``: every change of a product's stock, with the figures after it."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from workers.contracts.common import Value
from workers.eventing.envelope import EventData

Cause = Literal["reserve", "release", "dispatch", "restock"]


class StockDelta(Value):
    on_hand: int
    available: int


class StockChanged(EventData):
    """``available`` is ``on_hand - reserved``: what can still be ordered."""

    TYPE: ClassVar[str] = "stock.changed"
    STREAM: ClassVar[str] = "stock"

    product_id: int = Field(ge=1)
    sku: str
    on_hand: int = Field(ge=0)
    reserved: int = Field(ge=0)
    available: int = Field(ge=0)
    delta: StockDelta
    cause: Cause
    order_id: str | None = None
