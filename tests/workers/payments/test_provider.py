"""The simulated payment provider on its own."""

from __future__ import annotations

import pytest

from workers.payments.provider import ChargeResult, SimulatedProvider


def test_the_visa_test_token_is_approved_with_a_reference_derived_from_the_key() -> None:
    provider = SimulatedProvider()
    first = provider.charge("pm_card_visa", 1000, "order-1-charge")
    again = provider.charge("pm_card_visa", 1000, "order-1-charge")
    other = provider.charge("pm_card_visa", 1000, "order-2-charge")

    assert first.approved
    assert first.reference is not None
    assert first.reference.startswith("sim_ch_")
    assert again == first
    assert other.reference != first.reference


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("pm_card_declined", "card_declined"),
        ("pm_card_insufficient_funds", "insufficient_funds"),
        ("pm_card_made_up", "unknown_payment_method"),
    ],
)
def test_other_tokens_are_declined_with_their_reason(token: str, reason: str) -> None:
    result = SimulatedProvider().charge(token, 1000, "order-1-charge")
    assert result == ChargeResult(approved=False, reference=None, decline_reason=reason)


def test_a_charge_is_refunded_under_its_own_reference() -> None:
    provider = SimulatedProvider()
    charge = provider.charge("pm_card_visa", 1000, "order-1-charge")
    assert charge.reference is not None
    refund = provider.refund(charge.reference, 1000, "order-1-refund")

    assert refund.refunded
    assert refund.reference is not None
    assert refund.reference.startswith("sim_re_")
    assert provider.requests == [("charge", "order-1-charge"), ("refund", "order-1-refund")]


def test_a_refund_of_an_unknown_charge_fails() -> None:
    result = SimulatedProvider().refund("ch_elsewhere", 1000, "order-1-refund")
    assert not result.refunded
    assert result.failure_reason == "unknown_charge"
