"""The payment provider seen from this service, and a simulated one for development and tests.

Every request carries an idempotency key derived from the order, so a charge or refund
repeated after a crash is recognised by the provider instead of being made twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from workers.contracts.payments import PAYMENT_TOKENS


@dataclass(frozen=True)
class ChargeResult:
    approved: bool
    reference: str | None = None
    decline_reason: str | None = None


@dataclass(frozen=True)
class RefundResult:
    refunded: bool
    reference: str | None = None
    failure_reason: str | None = None


class PaymentProvider(Protocol):
    def charge(self, token: str, amount_cents: int, idempotency_key: str) -> ChargeResult:
        """Take ``amount_cents`` from the payment method behind ``token``."""
        ...

    def refund(self, reference: str, amount_cents: int, idempotency_key: str) -> RefundResult:
        """Give back ``amount_cents`` of the charge ``reference``."""
        ...


UNKNOWN_PAYMENT_METHOD = "unknown_payment_method"

# The contract's test tokens; anything else is unknown.
DECLINE_REASONS: dict[str, str | None] = {t.token: t.decline_reason for t in PAYMENT_TOKENS}

CHARGE_PREFIX = "sim_ch_"
REFUND_PREFIX = "sim_re_"


@dataclass
class SimulatedProvider:
    """Decides by token; references are derived from the idempotency key, so a retry gets the same one.

    ``requests`` lists every call as (operation, idempotency key), like a provider's
    request log; it is what tests count.
    """

    requests: list[tuple[str, str]] = field(default_factory=list)

    def charge(self, token: str, amount_cents: int, idempotency_key: str) -> ChargeResult:
        self.requests.append(("charge", idempotency_key))
        if token not in DECLINE_REASONS:
            return ChargeResult(approved=False, decline_reason=UNKNOWN_PAYMENT_METHOD)
        reason = DECLINE_REASONS[token]
        if reason is not None:
            return ChargeResult(approved=False, decline_reason=reason)
        return ChargeResult(approved=True, reference=_reference(CHARGE_PREFIX, idempotency_key))

    def refund(self, reference: str, amount_cents: int, idempotency_key: str) -> RefundResult:
        self.requests.append(("refund", idempotency_key))
        if not reference.startswith(CHARGE_PREFIX):
            return RefundResult(refunded=False, failure_reason="unknown_charge")
        return RefundResult(refunded=True, reference=_reference(REFUND_PREFIX, idempotency_key))


def _reference(prefix: str, idempotency_key: str) -> str:
    return prefix + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
