"""With SMTP_URL set, the emails of an order's whole walk reach a real SMTP server, one per status."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.ports import free_port
from tests.support.waiting import wait_until
from tests.system.conftest import StackFactory
from tests.system.observe import message_id, wait_for_quiet
from tests.system.shop_client import ShopClient
from tests.workers.email.conftest import SmtpInbox, SmtpServer

pytestmark = pytest.mark.stack

FULL_PATH = ["pending", "confirmed", "dispatched", "shipped", "delivered"]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(port=free_port(), inbox=SmtpInbox())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_each_status_of_an_order_is_mailed_once_over_smtp(start_stack: StackFactory, smtp: SmtpServer) -> None:
    stack = start_stack({"SMTP_URL": smtp.url})
    with ShopClient(stack.url) as shop, stack.redis.client() as client:
        placed = shop.checkout([(1, 1)])
        shop.wait_for_status(placed, "confirmed")
        shop.login()
        shop.dispatch(placed.order_id)
        shop.wait_for_status(placed, "delivered")
        wait_until(lambda: len(smtp.inbox.messages) >= len(FULL_PATH), message="not every status was mailed")
        wait_for_quiet(client)

    assert sorted(m["Message-ID"] for m in smtp.inbox.messages) == sorted(
        message_id(placed.order_id, status) for status in FULL_PATH
    )
    assert not list((stack.data_dir / "mail").glob("*.eml"))
