"""The JSON API's request and response shapes (DESIGN.md's contract), as pydantic models.

They are what ``GET /api/openapi.json`` describes; where a shape is an event's (an
order's lines, its customer, its payment) the model is the contract's own, so the
API and the events cannot drift apart. The routes build their answers from the read
model; the OpenAPI tests check every answer against these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.checkout import MAX_LINES, MAX_QUANTITY, PAYMENT_METHODS
from workers.contracts.common import Customer, Line
from workers.contracts.orders import PaymentState

OrderStatus = Literal["pending", "confirmed", "cancelled", "dispatched", "shipped", "delivered"]
PaymentMethod = Literal[PAYMENT_METHODS]  # type: ignore[valid-type]


class ErrorDetail(BaseModel):
    message: str
    fields: dict[str, str] = Field(description="the fields at fault, each with what is wrong with it")


class Error(BaseModel):
    """Every error: a status, a message and, for bad input, the fields at fault."""

    error: ErrorDetail


class Product(BaseModel):
    id: int
    sku: str
    name: str
    description: str
    price_cents: int
    available: int = Field(description="units that can still be ordered: on hand less reserved")
    on_hand: int = Field(description="units on the shelf")
    reserved: int


class ProductList(BaseModel):
    products: list[Product]
    stream_id: str = Field(description="the position of the stock stream the listing reflects (for /ws/stock)")


class CheckoutItem(BaseModel):
    product_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class CheckoutRequest(BaseModel):
    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)
    items: list[CheckoutItem] = Field(min_length=1, max_length=MAX_LINES)
    payment_method: PaymentMethod


class OrderAccepted(BaseModel):
    order_id: str
    status: Literal["pending"]
    token: str = Field(description="proves ownership: send it as X-Order-Token (or ?token=)")
    tracking_url: str


class HistoryEntry(BaseModel):
    status: OrderStatus
    at: str


class Order(BaseModel):
    order_id: str
    status: OrderStatus
    lines: list[Line]
    total_cents: int
    history: list[HistoryEntry]
    customer: Customer
    payment_method: str | None
    payment: PaymentState | None
    cancel_reason: str | None
    carrier: str | None
    tracking_number: str | None
    dispatch_requested: bool
    version: int


class LoginRequest(BaseModel):
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)


class LoginAnswer(BaseModel):
    token: str = Field(description="send it as Authorization: Bearer <token>")
    username: str


class WarehouseOrders(BaseModel):
    orders: list[Order]


class DispatchAccepted(BaseModel):
    order_id: str
    status: Literal["dispatch_requested"]


class RestockRequest(BaseModel):
    quantity: int = Field(ge=1)


class RestockAccepted(BaseModel):
    product_id: int
    request_id: str
