"""A pending order that nobody settles (the payments worker is down) is cancelled in time and its stock released."""

from __future__ import annotations

import pytest

from tests.system.conftest import StackFactory
from tests.system.observe import message_id, wait_for_emails
from tests.system.shop_client import ShopClient, statuses

pytestmark = pytest.mark.stack

GRINDER = 3


def test_an_order_not_settled_in_time_is_cancelled_and_its_reservation_released(start_stack: StackFactory) -> None:
    stack = start_stack({"ORDER_PENDING_TIMEOUT_S": "1"}, without=("payments",))
    with ShopClient(stack.url) as shop:
        grinder, position = shop.product(GRINDER), shop.stock_position()
        placed = shop.checkout([(GRINDER, 1)])

        cancelled = shop.wait_for_status(placed, "cancelled", "confirmed")
        assert cancelled["status"] == "cancelled"
        assert cancelled["cancel_reason"] == "not settled in time"
        assert statuses(cancelled) == ["pending", "cancelled"]
        assert cancelled["payment"] == {
            "status": "pending",
            "amount_cents": cancelled["total_cents"],
            "refunded_cents": 0,
            "method": "pm_card_visa",
        }

        shop.wait_for_product(GRINDER, available=grinder["available"], on_hand=grinder["on_hand"])
        changes = shop.stock_changes(position, lambda seen: any(c["cause"] == "release" for c in seen))
    assert [(c["product_id"], c["cause"], c["delta"]["available"]) for c in changes] == [
        (GRINDER, "reserve", -1),
        (GRINDER, "release", 1),
    ]
    mails = wait_for_emails(stack.data_dir, placed.order_id, ["pending", "cancelled"])
    assert mails["cancelled"]["Message-ID"] == message_id(placed.order_id, "cancelled")
