"""Every event delivered a second time, to every service: nothing happens twice."""

from __future__ import annotations

import pytest

from tests.system.conftest import StackFactory
from tests.system.observe import event_ids, mail_files, republish_everything, wait_for_emails, wait_for_quiet
from tests.system.shop_client import ShopClient

pytestmark = pytest.mark.stack

# The emails each order gets; the out-of-stock order was charged, then refunded.
EMAILS = {
    "delivered": ["pending", "confirmed", "dispatched", "shipped", "delivered"],
    "confirmed": ["pending", "confirmed"],
    "declined": ["pending", "cancelled"],
    "out of stock": ["pending", "cancelled", "refunded"],
}


def test_every_event_delivered_twice_changes_nothing(start_stack: StackFactory) -> None:
    stack = start_stack()
    with ShopClient(stack.url) as shop, stack.redis.client() as client:
        shop.login()
        shop.restock(10, 2)
        delivered = shop.checkout([(1, 2)])
        shop.wait_for_status(delivered, "confirmed")
        shop.dispatch(delivered.order_id)
        placed = {
            "delivered": delivered,
            "confirmed": shop.checkout([(5, 1)]),
            "declined": shop.checkout([(2, 1)], "pm_card_declined"),
            "out of stock": shop.checkout([(12, 1)]),
        }
        expected = {
            "delivered": "delivered",
            "confirmed": "confirmed",
            "declined": "cancelled",
            "out of stock": "cancelled",
        }
        for name, order in placed.items():
            assert shop.wait_for_status(order, expected[name])["status"] == expected[name]
        # The sender writes an order's emails one after another, after the events are
        # handled: a quiet backbone can still have mail to send, so wait for all of it.
        for name, order in placed.items():
            wait_for_emails(stack.data_dir, order.order_id, EMAILS[name])
        wait_for_quiet(client)
        products, mails = shop.products(), mail_files(stack.data_dir)
        orders = {name: shop.order(order) for name, order in placed.items()}

        lengths = republish_everything(client)
        wait_for_quiet(client)

        assert {stream: client.xlen(stream) for stream in lengths} == {s: 2 * n for s, n in lengths.items()}
        assert shop.products() == products
        assert {name: shop.order(order) for name, order in placed.items()} == orders
        assert mail_files(stack.data_dir) == mails
        assert len(mails) == sum(len(statuses) for statuses in EMAILS.values())
        for name, order in placed.items():
            # Each copy carries its original's event id: a second charge would have an id of its own.
            charges = event_ids(client, "payments", "payment.confirmed", order.order_id)
            assert len(set(charges)) == (0 if name == "declined" else 1)
            assert len(charges) == 2 * len(set(charges))
