"""Stream ``payments``: payment transactions attached to orders (tokens, never card numbers)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from workers.eventing.envelope import EventData


class PaymentSnapshot(EventData):
    payment_id: str
    order_id: str
    amount_cents: int = Field(ge=0)
    method: str
    status: Literal["confirmed", "declined", "refunded"]
    reason: str | None = None
    provider_reference: str | None = None
    refunded_cents: int = Field(default=0, ge=0)


class PaymentConfirmed(PaymentSnapshot):
    TYPE: ClassVar[str] = "payment.confirmed"
    STREAM: ClassVar[str] = "payments"


class PaymentDeclined(PaymentSnapshot):
    TYPE: ClassVar[str] = "payment.declined"
    STREAM: ClassVar[str] = "payments"


class PaymentRefunded(PaymentSnapshot):
    """A confirmed payment was given back because its order was cancelled."""

    TYPE: ClassVar[str] = "payment.refunded"
    STREAM: ClassVar[str] = "payments"
