"""The order's rules on their own: no database, no Redis."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from workers.contracts.orders import NOT_SETTLED_IN_TIME, OrderStatus
from workers.contracts.payments import PaymentStatus
from workers.orders.domain import (
    FORWARD,
    Move,
    can_move,
    expire,
    fulfil,
    refuse,
    settle,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_a_paid_and_reserved_pending_order_is_confirmed() -> None:
    moves = settle("pending", payment_status="confirmed", payment_reason=None, stock_reserved=True)
    assert moves == (Move("confirmed"),)


@pytest.mark.parametrize(("payment", "reserved"), [("confirmed", False), (None, True), (None, False)])
def test_a_pending_order_waits_for_both_payment_and_stock(payment: PaymentStatus | None, reserved: bool) -> None:
    assert settle("pending", payment_status=payment, payment_reason=None, stock_reserved=reserved) == ()


def test_a_declined_payment_cancels_with_its_reason() -> None:
    moves = settle("pending", payment_status="declined", payment_reason="card_declined", stock_reserved=True)
    assert moves == (Move("cancelled", "payment declined: card_declined"),)


@pytest.mark.parametrize("status", ["confirmed", "cancelled", "dispatched", "shipped", "delivered"])
def test_only_a_pending_order_settles(status: OrderStatus) -> None:
    payments: tuple[PaymentStatus, ...] = ("confirmed", "declined")
    for payment in payments:
        assert settle(status, payment_status=payment, payment_reason="x", stock_reserved=True) == ()


def test_refused_stock_cancels_a_pending_order_with_the_warehouse_reason() -> None:
    assert refuse("pending", "out of stock: GRINDER-HAND-C2") == (Move("cancelled", "out of stock: GRINDER-HAND-C2"),)
    assert refuse("pending", None) == (Move("cancelled", "out of stock"),)


def test_refused_stock_after_settling_changes_nothing() -> None:
    assert refuse("confirmed", "out of stock: X") == ()
    assert refuse("cancelled", "out of stock: X") == ()


def test_a_pending_order_expires_after_the_timeout() -> None:
    old = NOW - timedelta(seconds=901)
    assert expire("pending", placed_at=old, now=NOW, timeout_s=900) == (Move("cancelled", NOT_SETTLED_IN_TIME),)


def test_a_young_or_settled_order_does_not_expire() -> None:
    young = NOW - timedelta(seconds=10)
    assert expire("pending", placed_at=young, now=NOW, timeout_s=900) == ()
    old = NOW - timedelta(hours=1)
    assert expire("confirmed", placed_at=old, now=NOW, timeout_s=900) == ()


def test_fulfilment_moves_one_step_forward() -> None:
    assert fulfil("confirmed", "dispatched") == (Move("dispatched"),)
    assert fulfil("dispatched", "shipped") == (Move("shipped"),)
    assert fulfil("shipped", "delivered") == (Move("delivered"),)


def test_fulfilment_makes_the_steps_a_reordered_event_skipped() -> None:
    assert fulfil("dispatched", "delivered") == (Move("shipped"), Move("delivered"))


@pytest.mark.parametrize(
    ("status", "target"), [("shipped", "dispatched"), ("delivered", "shipped"), ("shipped", "shipped")]
)
def test_fulfilment_never_moves_back_or_repeats(status: OrderStatus, target: OrderStatus) -> None:
    assert fulfil(status, target) == ()


@pytest.mark.parametrize("status", ["pending", "cancelled"])
def test_an_unconfirmed_order_is_never_fulfilled(status: OrderStatus) -> None:
    assert fulfil(status, "dispatched") == ()


def test_every_move_the_rules_make_is_an_allowed_forward_move() -> None:
    assert can_move("pending", "confirmed")
    assert can_move("pending", "cancelled")
    assert can_move("confirmed", "cancelled")
    assert not can_move("dispatched", "cancelled")
    assert not can_move("cancelled", "confirmed")
    assert FORWARD["delivered"] == frozenset()
    path: list[OrderStatus] = ["confirmed", *[move.status for move in fulfil("confirmed", "delivered")]]
    assert all(can_move(a, b) for a, b in itertools.pairwise(path))
