"""Stream ``orders``: one event per status change, each with the whole order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Literal, get_args

from pydantic import Field

from workers.contracts.common import Customer, Line, Value
from workers.contracts.payments import PaymentStatus
from workers.eventing.envelope import EventData

OrderStatus = Literal["pending", "confirmed", "cancelled", "dispatched", "shipped", "delivered"]
ORDER_STATUSES: tuple[OrderStatus, ...] = get_args(OrderStatus)

# The way an order goes when all is well, one step at a time; from pending it is confirmed
# (paid and reserved), and after that it goes down the fulfilment line.
ORDER_PATH: tuple[OrderStatus, ...] = ("pending", "confirmed", "dispatched", "shipped", "delivered")
FULFILMENT: tuple[OrderStatus, ...] = ORDER_PATH[1:]

# What a shopper may still cancel: the goods have not left. The orders service decides;
# the gateway answers 409 early for what it would refuse anyway.
CANCELLABLE: frozenset[OrderStatus] = frozenset({"pending", "confirmed"})

# No further change comes after these.
FINISHED: frozenset[OrderStatus] = frozenset({ORDER_PATH[-1], "cancelled"})

# Why an order was cancelled (``cancel_reason``): one of these, or the payment's or the
# warehouse's refusal after ``PAYMENT_DECLINED``/``OUT_OF_STOCK`` and a colon.
PAYMENT_DECLINED = "payment declined"
OUT_OF_STOCK = "out of stock"
NOT_SETTLED_IN_TIME = "not settled in time"
CANCELLED_BY_CUSTOMER = "cancelled by the customer"


class StatusChange(Value):
    status: OrderStatus
    at: datetime


class PaymentState(Value):
    payment_id: str
    method: str
    status: PaymentStatus
    reason: str | None = None
    amount_cents: int = Field(default=0, ge=0)
    refunded_cents: int = Field(default=0, ge=0)


class OrderSnapshot(EventData):
    """The whole order as it stands after the change the event names."""

    STREAM: ClassVar[str] = "orders"

    # The status an order enters with this event (None: news within the status it has).
    ENTERS: ClassVar[OrderStatus | None] = None

    order_id: str
    status: OrderStatus
    customer: Customer
    lines: list[Line] = Field(min_length=1)
    total_cents: int = Field(ge=0)
    payment_method: str
    payment: PaymentState | None = None
    stock_reserved: bool = False
    cancel_reason: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    history: list[StatusChange]
    placed_at: datetime


class OrderPlaced(OrderSnapshot):
    """The temporary order exists (``pending``): payment and stock are being arranged."""

    TYPE: ClassVar[str] = "order.placed"
    ENTERS: ClassVar[OrderStatus | None] = "pending"


class OrderConfirmed(OrderSnapshot):
    """Payment confirmed and stock reserved: the order is created (``confirmed``)."""

    TYPE: ClassVar[str] = "order.confirmed"
    ENTERS: ClassVar[OrderStatus | None] = "confirmed"


class OrderCancelled(OrderSnapshot):
    """Declined, out of stock or not settled in time; the others compensate."""

    TYPE: ClassVar[str] = "order.cancelled"
    ENTERS: ClassVar[OrderStatus | None] = "cancelled"


class OrderRefunded(OrderSnapshot):
    """A cancelled order's payment was given back: the same status, a new version with the refund."""

    TYPE: ClassVar[str] = "order.refunded"


class OrderDispatched(OrderSnapshot):
    """The orders service accepted a clerk's *Dispatch* (no cancel came first); the warehouse takes the goods."""

    TYPE: ClassVar[str] = "order.dispatched"
    ENTERS: ClassVar[OrderStatus | None] = "dispatched"


class OrderShipped(OrderSnapshot):
    TYPE: ClassVar[str] = "order.shipped"
    ENTERS: ClassVar[OrderStatus | None] = "shipped"


class OrderDelivered(OrderSnapshot):
    TYPE: ClassVar[str] = "order.delivered"
    ENTERS: ClassVar[OrderStatus | None] = "delivered"


# Every event of the orders stream, in the order an order can meet them.
ORDER_EVENTS: tuple[type[OrderSnapshot], ...] = (
    OrderPlaced,
    OrderConfirmed,
    OrderCancelled,
    OrderRefunded,
    OrderDispatched,
    OrderShipped,
    OrderDelivered,
)

# The event that announces an order entering each status.
EVENT_FOR_STATUS: Mapping[OrderStatus, type[OrderSnapshot]] = {
    model.ENTERS: model for model in ORDER_EVENTS if model.ENTERS is not None
}
