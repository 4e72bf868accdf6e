"""The email service as its own process (``python -m workers.email``): killed mid-send, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import launch
from tests.support.waiting import wait_until
from tests.workers.email.conftest import EmailHarness, SmtpServer
from tests.workers.order_snapshots import new_order_id, order_event
from workers.contracts.orders import OrderPlaced
from workers.email.messages import message_id

ROOT = Path(__file__).resolve().parents[3]
DEADLINE_S = 30.0


class EmailProcess:
    """``python -m workers.email`` with this test's Redis, database, data dir and SMTP server."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: launch.Started | None = None

    def start(self) -> launch.Started:
        argv = [sys.executable, "-m", "workers.email"]
        self.process = launch.start(argv, cwd=ROOT, env={**os.environ, **self.env}, log=self.log_path)
        return self.process

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=DEADLINE_S)


@pytest.fixture
def email_process(
    email_service: EmailHarness, smtp_server: SmtpServer, redis_url: str, tmp_path: Path
) -> Iterator[EmailProcess]:
    """The process, sharing the harness's Redis and database (the harness only publishes and reads)."""
    process = EmailProcess(
        {
            "REDIS_URL": redis_url,
            "EMAIL_DATABASE_URL": str(email_service.db.url),
            "DATA_DIR": str(tmp_path),
            "SMTP_URL": smtp_server.url,
            "CONSUMER_NAME": "email-process-1",  # the same name after a restart, as a replica keeps it
        },
        tmp_path / "email.log",
    )
    try:
        yield process
    finally:
        process.kill()


def _place(email_service: EmailHarness) -> str:
    order_id = new_order_id()
    email_service.publish(order_event(OrderPlaced, order_id, [(1, 1)]), aggregate_id=order_id)
    return order_id


def test_a_kill_between_sending_and_marking_sends_again_with_the_same_message_id(
    email_service: EmailHarness, smtp_server: SmtpServer, email_process: EmailProcess
) -> None:
    smtp_server.start()
    first_run = email_process.start()
    # The server keeps the message, then the sender is killed before it hears "250" (so before it marks).
    smtp_server.inbox.on_message = lambda: os.kill(first_run.pid, signal.SIGKILL)
    order_id = _place(email_service)

    assert first_run.wait(timeout=DEADLINE_S) == -signal.SIGKILL
    assert smtp_server.inbox.message_ids() == [message_id(order_id, "pending")]
    assert email_service.unsent() == 1
    smtp_server.inbox.on_message = None

    email_process.start()
    wait_until(lambda: len(smtp_server.inbox.messages) == 2, DEADLINE_S, email_process.log)
    wait_until(lambda: email_service.unsent() == 0, DEADLINE_S, email_process.log)

    assert smtp_server.inbox.message_ids() == [message_id(order_id, "pending")] * 2
    assert f"email sent: {message_id(order_id, 'pending')} over SMTP" in email_process.log()


def test_sigterm_stops_the_process_with_its_sender_after_what_it_had_in_hand(
    email_service: EmailHarness, smtp_server: SmtpServer, email_process: EmailProcess
) -> None:
    smtp_server.start()
    process = email_process.start()
    orders = [_place(email_service) for _ in range(20)]
    wait_until(lambda: len(smtp_server.inbox.messages) == len(orders), DEADLINE_S, email_process.log)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=DEADLINE_S) == 0, email_process.log()
    assert "email stopped" in email_process.log()
    assert sorted(smtp_server.inbox.message_ids()) == sorted(message_id(o, "pending") for o in orders)
    assert smtp_server.inbox.connections == 1
    wait_until(lambda: email_service.unsent() == 0)
