"""Every event delivered a second time, to every service: nothing happens twice."""

from __future__ import annotations

import pytest

from tests.system.conftest import StackFactory
from tests.system.observe import event_ids, mail_files, republish_everything, wait_for_emails, wait_for_quiet
from tests.system.shop_client import ShopClient

pytestmark = pytest.mark.stack


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
        for order in placed.values():
            wait_for_emails(stack.data_dir, order.order_id, ["pending"])
        wait_for_quiet(client)
        products, mails = shop.products(), mail_files(stack.data_dir)
        orders = {name: shop.order(order) for name, order in placed.items()}

        lengths = republish_everything(client)
        wait_for_quiet(client)

        assert {stream: client.xlen(stream) for stream in lengths} == {s: 2 * n for s, n in lengths.items()}
        assert shop.products() == products
        assert {name: shop.order(order) for name, order in placed.items()} == orders
        assert mail_files(stack.data_dir) == mails
        # The out-of-stock order was charged, then refunded: it has a refund email as well.
        assert len(mails) == 5 + 2 + 2 + 3
        for name, order in placed.items():
            # Each copy carries its original's event id: a second charge would have an id of its own.
            charges = event_ids(client, "payments", "payment.confirmed", order.order_id)
            assert len(set(charges)) == (0 if name == "declined" else 1)
            assert len(charges) == 2 * len(set(charges))
