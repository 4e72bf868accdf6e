"""The JSON API's request and response shapes (DESIGN.md's contract), as pydantic models.

They are what ``GET /api/openapi.json`` describes; where a shape is an event's (an
order's lines, its customer, its payment) the model is the contract's own, so the
API and the events cannot drift apart. The routes build their answers from the read
model; the OpenAPI tests check every answer against these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.shop.catalog_requests import MAX_PRICE_CENTS, MAX_STOCK
from app.shop.checkout_validation import MAX_LINES, MAX_QUANTITY, PAYMENT_METHODS
from workers.contracts.common import Customer, Line
from workers.contracts.orders import OrderStatus

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
    archived: bool


class ProductList(BaseModel):
    products: list[Product]
    stream_id: str = Field(description="the position of the stock stream the listing reflects (for /ws/stock)")
    catalog_stream_id: str = Field(description="the position of the catalog stream (for /ws/catalog)")


class CatalogRequest(BaseModel):
    request_id: str
    product_id: int
    sku: str
    name: str
    status: str = Field(description="requested or refused")
    field: str | None
    reason: str | None


class CatalogProducts(BaseModel):
    products: list[Product] = Field(description="every product, archived ones too")
    requests: list[CatalogRequest] = Field(description="new-product requests the catalog has not created")
    catalog_stream_id: str


class NewProductRequest(BaseModel):
    sku: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    price_cents: int = Field(ge=0, le=MAX_PRICE_CENTS)
    opening_stock: int = Field(0, ge=0, le=MAX_STOCK)


class ProductAccepted(BaseModel):
    product_id: int


class ProductChangeRequest(BaseModel):
    """At least one of the fields."""

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = None
    price_cents: int | None = Field(None, ge=0, le=MAX_PRICE_CENTS)
    archived: bool | None = None


class ProductChangeAccepted(BaseModel):
    product_id: int
    request_id: str


class CancelAccepted(BaseModel):
    order_id: str
    status: Literal["cancel_requested"]


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


class OrderPayment(BaseModel):
    status: str = Field(description="pending until the payment service answers; confirmed, declined, refunded")
    amount_cents: int
    refunded_cents: int
    method: str | None


class Order(BaseModel):
    order_id: str
    status: OrderStatus
    lines: list[Line]
    total_cents: int
    history: list[HistoryEntry]
    customer: Customer
    payment_method: str | None
    payment: OrderPayment
    cancel_reason: str | None
    carrier: str | None
    tracking_number: str | None
    dispatch_requested: bool
    cancel_requested: bool
    cancellable: bool
    placed_at: str | None
    version: int


class LoginRequest(BaseModel):
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)


class LoginAnswer(BaseModel):
    token: str = Field(description="send it as Authorization: Bearer <token>")
    username: str


class WarehouseOrders(BaseModel):
    orders: list[Order]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last")


class DispatchAccepted(BaseModel):
    order_id: str
    status: Literal["dispatch_requested"]


class RestockRequest(BaseModel):
    quantity: int = Field(ge=1)


class RestockAccepted(BaseModel):
    product_id: int
    request_id: str
