"""Retention in the whole stack: streams trimmed within seconds, held back by a stopped group that loses nothing."""

from __future__ import annotations

import signal

import pytest

from tests.support.waiting import wait_until
from tests.system.conftest import StackFactory
from tests.system.observe import event_ids, wait_for_emails
from tests.system.shop_client import ShopClient
from workers import ops

pytestmark = pytest.mark.stack

# Seconds, not minutes; long enough that every group exists before the catalog's first
# events leave the window (a group only counts from when it is created).
SECONDS_OF_HISTORY = {
    "STREAM_KEEP_S": "10",
    "DLQ_REDRIVE_S": "1",
    "INBOX_KEEP_S": "15",
    "RETENTION_INTERVAL_S": "0.5",
}
DEADLINE_S = 60.0


def test_a_stopped_group_holds_trimming_back_and_reads_everything_when_it_restarts(
    start_stack: StackFactory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = start_stack(env=SECONDS_OF_HISTORY)
    client = stack.redis.client()
    with ShopClient(stack.url) as shop:
        first = shop.checkout([(1, 1)])
        shop.wait_for_status(first, "confirmed")
        wait_until(
            lambda: not event_ids(client, "orders", "order.placed", first.order_id),
            DEADLINE_S,
            "the first order's events trimmed from the orders stream once every group had them",
        )

        stack.signal("email", signal.SIGTERM)
        second = shop.checkout([(1, 1)])
        shop.wait_for_status(second, "confirmed")
        # The payments stream, which only orders reads, moves on past the window...
        wait_until(
            lambda: not event_ids(client, "payments", "payment.confirmed", second.order_id),
            DEADLINE_S,
            "the second order's payment trimmed from the payments stream",
        )
        # ...while the orders stream keeps what the stopped email group has not read.
        assert event_ids(client, "orders", "order.placed", second.order_id)
        monkeypatch.setenv("REDIS_URL", stack.redis.url)
        monkeypatch.setenv("DATA_DIR", str(stack.data_dir))
        monkeypatch.setenv("STREAM_KEEP_S", SECONDS_OF_HISTORY["STREAM_KEEP_S"])
        assert ops.main(["status"]) == 0
        assert "orders: group email holds" in capsys.readouterr().out

        stack.start_process("email", replica=0)
        mails = wait_for_emails(stack.data_dir, second.order_id, ["pending", "confirmed"], timeout=DEADLINE_S)
        assert {"pending", "confirmed"} <= set(mails)
        wait_until(
            lambda: not event_ids(client, "orders", "order.placed", second.order_id),
            DEADLINE_S,
            "the orders stream trimmed once the email group caught up",
        )
    client.close()
