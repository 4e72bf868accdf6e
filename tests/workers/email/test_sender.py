"""The sender thread: woken by the commit that recorded an email, polling for the rest, stopped when asked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.waiting import wait_until
from tests.workers.email.conftest import EmailFactory, EmailHarness, SmtpServer
from tests.workers.order_snapshots import new_order_id, order_event
from workers.contracts.orders import OrderPlaced
from workers.email.mailers import SmtpMailer
from workers.email.messages import message_id


def _place(email_service: EmailHarness) -> str:
    order_id = new_order_id()
    email_service.publish(order_event(OrderPlaced, order_id, [(1, 1)]), aggregate_id=order_id)
    return order_id


@contextmanager
def running(email_service: EmailHarness) -> Iterator[threading.Thread]:
    """The replica's sender in its own thread, as the email process runs it, stopped at the end."""
    stop = threading.Event()
    thread = threading.Thread(target=email_service.sender, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=10)


def test_a_commit_that_recorded_an_email_wakes_the_sender(start_email: EmailFactory, smtp_server: SmtpServer) -> None:
    smtp_server.start()
    email_service = start_email({"SMTP_URL": smtp_server.url, "EMAIL_POLL_S": "3600"})  # it would never poll
    inbox = smtp_server.inbox
    with running(email_service):
        first = _place(email_service)
        email_service.record_until_idle()
        wait_until(lambda: inbox.message_ids() == [message_id(first, "pending")])
        second = _place(email_service)  # the sender has gone back to waiting by now
        email_service.record_until_idle()
        wait_until(lambda: len(inbox.messages) == 2, message="the commit did not wake the sender")

    assert inbox.message_ids() == [message_id(first, "pending"), message_id(second, "pending")]
    assert inbox.connections == 1


def test_an_email_another_replica_recorded_is_found_by_polling(
    start_email: EmailFactory, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    sending = start_email({"SMTP_URL": smtp_server.url, "EMAIL_POLL_S": "0.05"})
    recording = start_email({"SMTP_URL": smtp_server.url})  # its own sender is not running
    with running(sending):
        order_id = _place(recording)
        recording.record_until_idle()  # wakes only its own sender
        wait_until(lambda: smtp_server.inbox.message_ids() == [message_id(order_id, "pending")])

    assert sending.unsent() == 0


def test_the_sender_stops_when_asked_and_lets_its_connection_go(
    start_email: EmailFactory, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    email_service = start_email({"SMTP_URL": smtp_server.url})
    with running(email_service) as thread:
        order_id = _place(email_service)
        email_service.record_until_idle()
        wait_until(lambda: smtp_server.inbox.message_ids() == [message_id(order_id, "pending")])
        mailer = email_service.sender.mailer
        assert isinstance(mailer, SmtpMailer) and mailer.connected

    assert not thread.is_alive()
    assert not mailer.connected


def test_the_sender_keeps_going_while_smtp_is_down_and_sends_once_it_is_back(
    start_email: EmailFactory, smtp_server: SmtpServer
) -> None:
    email_service = start_email({"SMTP_URL": smtp_server.url, "EMAIL_POLL_S": "0.05"})  # nothing listens yet
    with running(email_service) as thread:
        order_id = _place(email_service)
        email_service.record_until_idle()
        wait_until(lambda: email_service.rows() and email_service.unsent() == 1)
        smtp_server.start()
        wait_until(lambda: smtp_server.inbox.message_ids() == [message_id(order_id, "pending")])
        assert thread.is_alive()

    wait_until(lambda: email_service.unsent() == 0)
