"""The checker's rules, on hand-made evidence: copies are not effects, and states must fit the order."""

from __future__ import annotations

from typing import Any

from chaos.invariants import _misfit, duplicated_effects
from chaos.truth import Order


def event(event_id: str, event_type: str, **data: Any) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "source": "payments", "data": data}


def test_a_copy_of_an_event_is_not_a_duplicated_effect_but_a_second_charge_is() -> None:
    charge = event("e1", "payment.confirmed", order_id="o1")
    streams = {"payments": [charge, charge, event("e2", "payment.confirmed", order_id="o2")]}
    assert duplicated_effects(streams) == {}

    streams["payments"].append(event("e3", "payment.confirmed", order_id="o1"))
    assert duplicated_effects(streams) == {"charge": 1}


def test_stock_changes_are_effects_per_order_product_and_cause_and_poison_is_left_out() -> None:
    reserve = event("s1", "stock.changed", order_id="o1", product_id=3, cause="reserve")
    release = event("s2", "stock.changed", order_id="o1", product_id=3, cause="release")
    poison = {**event("p", "stock.changed", order_id="o1", product_id=3, cause="reserve"), "source": "chaos"}
    assert duplicated_effects({"stock": [reserve, release, poison]}) == {}
    assert duplicated_effects({"stock": [reserve, {**reserve, "id": "s3"}]}) == {"stock reserve": 1}


def order(status: str, history: tuple[str, ...], reason: str | None = None) -> Order:
    return Order("o1", status, "pm_card_visa", ((1, 1),), history, reason)


def test_a_paid_order_may_be_cancelled_only_for_want_of_stock() -> None:
    assert _misfit(order("cancelled", ("pending", "cancelled"), "out of stock: MUG"), "pm_card_visa", False) is None
    assert _misfit(order("cancelled", ("pending", "cancelled"), "not settled in time"), "pm_card_visa", False)


def test_a_declined_card_must_end_cancelled() -> None:
    assert _misfit(order("cancelled", ("pending", "cancelled"), "payment declined"), "pm_card_declined", False) is None
    assert _misfit(order("confirmed", ("pending", "confirmed")), "pm_card_insufficient_funds", False)


def test_an_order_leaves_the_shelf_if_and_only_if_a_clerk_dispatched_it() -> None:
    delivered = order("delivered", ("pending", "confirmed", "dispatched", "shipped", "delivered"))
    confirmed = order("confirmed", ("pending", "confirmed"))
    assert _misfit(delivered, "pm_card_visa", True) is None
    assert _misfit(delivered, "pm_card_visa", False)
    assert _misfit(confirmed, "pm_card_visa", True)
    assert _misfit(confirmed, "pm_card_visa", False) is None


def test_a_history_that_skips_or_repeats_a_status_does_not_fit() -> None:
    assert _misfit(order("confirmed", ("pending", "confirmed", "confirmed")), "pm_card_visa", False)
    assert _misfit(order("dispatched", ("pending", "dispatched")), "pm_card_visa", True)
