"""Emails go out over SMTP, to a real server, exactly once per order and status."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from tests.support.harness import ServiceHarness
from tests.workers.email.conftest import EmailFactory, SmtpServer, bodies
from tests.workers.order_snapshots import new_order_id, order_event
from workers.contracts.orders import OrderConfirmed, OrderDelivered, OrderDispatched, OrderPlaced, OrderShipped
from workers.email.tables import notifications
from workers.eventing import Envelope

PATH = (OrderPlaced, OrderConfirmed, OrderDispatched, OrderShipped, OrderDelivered)


def test_smtp_delivers_exactly_one_message_per_status(
    start_email: EmailFactory, smtp_server: SmtpServer, mail_dir: Path
) -> None:
    smtp_server.start()
    email_service = start_email({"SMTP_URL": smtp_server.url})
    order_id = new_order_id()
    sent: list[Envelope] = []
    for version, model in enumerate(PATH, start=1):
        data = order_event(model, order_id, [(1, 1)], tracking_number="PCL0123456789", carrier="Parcelo")
        sent.append(email_service.publish(data, aggregate_id=order_id, aggregate_version=version))
    email_service.run_until_idle()
    for envelope in sent:
        email_service.redeliver(envelope)
    email_service.run_until_idle()

    statuses = ["pending", "confirmed", "dispatched", "shipped", "delivered"]
    received = smtp_server.inbox.messages
    assert sorted(m["Message-ID"] for m in received) == sorted(f"<{order_id}.{s}@storefront.local>" for s in statuses)
    assert all(m["To"] == "Ada Lovelace <ada@example.com>" for m in received)
    assert all("Ada Lovelace" in bodies(m)[1] for m in received)
    assert not mail_dir.exists()


def test_an_email_the_server_refused_is_sent_once_it_is_back(
    start_email: EmailFactory, smtp_server: SmtpServer
) -> None:
    email_service = start_email({"SMTP_URL": smtp_server.url})  # nothing listens there yet
    order_id = new_order_id()
    email_service.publish(order_event(OrderPlaced, order_id, [(1, 1)]), aggregate_id=order_id)
    email_service.run_until_idle()
    assert _recorded(email_service) == 0  # the failed send left no trace: the event will be retried

    smtp_server.start()
    _run_until(email_service, lambda: len(smtp_server.inbox.messages) == 1)
    email_service.run_until_idle()

    [message] = smtp_server.inbox.messages
    assert message["Message-ID"] == f"<{order_id}.pending@storefront.local>"
    assert _recorded(email_service) == 1
    assert email_service.client.xlen("dlq") == 0


def _recorded(email_service: ServiceHarness) -> int:
    with email_service.db.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(notifications)) or 0)


def _run_until(email_service: ServiceHarness, done: Callable[[], bool], timeout_s: float = 10.0) -> None:
    # The consumer retries failed events after a backoff; keep turning it until the retry happened.
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "the failed email was never retried"
        email_service.run_until_idle()
