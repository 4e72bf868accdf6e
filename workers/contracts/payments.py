"""Stream ``payments``: payment transactions attached to orders (tokens, never card numbers)."""

from __future__ import annotations

from typing import ClassVar, Literal, NamedTuple

from pydantic import Field

from workers.eventing.envelope import EventData

PaymentStatus = Literal["confirmed", "declined", "refunded"]


class PaymentToken(NamedTuple):
    """A payment method a shopper may choose: a provider's test token, never a card number.

    ``decline_reason`` is how the (simulated) provider answers a charge to it: None approves.
    """

    token: str
    label: str
    decline_reason: str | None


# In the style of the card networks' test cards; any other token is unknown to the provider.
PAYMENT_TOKENS: tuple[PaymentToken, ...] = (
    PaymentToken("pm_card_visa", "Visa test card (succeeds)", None),
    PaymentToken("pm_card_declined", "Declined test card", "card_declined"),
    PaymentToken("pm_card_insufficient_funds", "Test card with insufficient funds", "insufficient_funds"),
)
APPROVING_TOKEN = next(t.token for t in PAYMENT_TOKENS if t.decline_reason is None)
DECLINING_TOKENS = tuple(t.token for t in PAYMENT_TOKENS if t.decline_reason is not None)


class PaymentSnapshot(EventData):
    STREAM: ClassVar[str] = "payments"

    payment_id: str
    order_id: str
    amount_cents: int = Field(ge=0)
    method: str
    status: PaymentStatus
    reason: str | None = None
    provider_reference: str | None = None
    refunded_cents: int = Field(default=0, ge=0)


class PaymentConfirmed(PaymentSnapshot):
    TYPE: ClassVar[str] = "payment.confirmed"


class PaymentDeclined(PaymentSnapshot):
    TYPE: ClassVar[str] = "payment.declined"


class PaymentRefunded(PaymentSnapshot):
    """A confirmed payment was given back because its order was cancelled."""

    TYPE: ClassVar[str] = "payment.refunded"
