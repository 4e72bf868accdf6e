"""Emails go out over SMTP, to a real server: exactly once per order and status, over one connection."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import update

from tests.support.waiting import wait_until
from tests.workers.email.conftest import EmailFactory, EmailHarness, SmtpServer, bodies
from tests.workers.order_snapshots import new_order_id, order_event
from workers.contracts.common import Customer
from workers.contracts.orders import OrderConfirmed, OrderDelivered, OrderDispatched, OrderPlaced, OrderShipped
from workers.email.mailers import SmtpMailer
from workers.email.messages import message_id
from workers.email.sender import Sender, SenderSettings
from workers.email.tables import notifications
from workers.eventing import Envelope

PATH = (OrderPlaced, OrderConfirmed, OrderDispatched, OrderShipped, OrderDelivered)
STATUSES = ["pending", "confirmed", "dispatched", "shipped", "delivered"]


def _place(email_service: EmailHarness, email: str = "ada@example.com") -> str:
    order_id = new_order_id()
    customer = Customer(email=email, name="Ada Lovelace", address="1 Road")
    email_service.publish(order_event(OrderPlaced, order_id, [(1, 1)], customer=customer), aggregate_id=order_id)
    return order_id


def test_smtp_delivers_exactly_one_message_per_status(start_email: EmailFactory, smtp_server: SmtpServer) -> None:
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

    received = smtp_server.inbox.messages
    assert sorted(smtp_server.inbox.message_ids()) == sorted(message_id(order_id, s) for s in STATUSES)
    assert all(m["To"] == "Ada Lovelace <ada@example.com>" for m in received)
    assert all("Ada Lovelace" in bodies(m)[1] for m in received)
    assert email_service.unsent() == 0


def test_duplicate_deliveries_to_two_replicas_send_one_email_per_order_and_status(
    start_email_on_each_database: EmailFactory, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    replicas = [start_email_on_each_database({"SMTP_URL": smtp_server.url}) for _ in range(2)]
    order_id = new_order_id()
    for version, model in enumerate(PATH, start=1):
        data = order_event(model, order_id, [(1, 1)])
        envelope = replicas[0].publish(data, aggregate_id=order_id, aggregate_version=version)
        replicas[0].redeliver(envelope)  # the same event twice
        replicas[0].publish(data, aggregate_id=order_id, aggregate_version=version)  # the same status, a new event
    for replica in replicas:
        replica.record_until_idle()
    for replica in replicas:
        replica.sender.drain()

    assert sorted(smtp_server.inbox.message_ids()) == sorted(message_id(order_id, s) for s in STATUSES)
    assert len(replicas[0].rows()) == len(STATUSES)


def test_many_notifications_go_out_over_one_smtp_connection(start_email: EmailFactory, smtp_server: SmtpServer) -> None:
    smtp_server.start()
    email_service = start_email({"SMTP_URL": smtp_server.url})
    orders = [_place(email_service) for _ in range(120)]  # more than one batch
    email_service.run_until_idle()

    assert sorted(smtp_server.inbox.message_ids()) == sorted(message_id(o, "pending") for o in orders)
    assert smtp_server.inbox.connections == 1


def test_a_connection_the_server_dropped_is_opened_again(start_email: EmailFactory, smtp_server: SmtpServer) -> None:
    smtp_server.start()
    email_service = start_email({"SMTP_URL": smtp_server.url})
    first = _place(email_service)
    email_service.run_until_idle()
    smtp_server.stop()  # closes the connection the sender keeps open
    smtp_server.start()

    second = _place(email_service)
    email_service.run_until_idle()

    assert smtp_server.inbox.message_ids() == [message_id(first, "pending"), message_id(second, "pending")]
    assert smtp_server.inbox.connections == 2
    assert [row["attempts"] for row in email_service.rows()] == [0, 0]


def test_notifications_wait_while_smtp_is_down_and_go_out_when_it_is_back(
    start_email: EmailFactory, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    email_service = start_email({"SMTP_URL": smtp_server.url})
    before = _place(email_service)
    email_service.run_until_idle()
    smtp_server.stop()

    waiting = [_place(email_service) for _ in range(3)]
    email_service.run_until_idle()
    email_service.run_until_idle()
    assert smtp_server.inbox.message_ids() == [message_id(before, "pending")]
    assert email_service.unsent() == 3
    assert email_service.client.xlen("dlq") == 0
    assert all(row["attempts"] == 0 for row in email_service.rows())  # a server away is no message's fault

    smtp_server.start()  # the same port again
    email_service.run_until_idle()

    assert smtp_server.inbox.message_ids() == [message_id(o, "pending") for o in [before, *waiting]]
    assert email_service.unsent() == 0


def test_a_message_the_server_refuses_is_retried_later_without_holding_up_the_others(
    start_email: EmailFactory, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_server.inbox.refused.add("nobody@example.com")
    smtp_server.start()
    email_service = start_email({"SMTP_URL": smtp_server.url, "EMAIL_MAX_ATTEMPTS": "2"})
    refused = _place(email_service, email="nobody@example.com")
    accepted = _place(email_service)
    email_service.run_until_idle()

    assert smtp_server.inbox.message_ids() == [message_id(accepted, "pending")]
    [row] = [row for row in email_service.rows() if row["order_id"] == refused]
    assert (row["attempts"], row["sent_at"], row["failed_at"]) == (1, None, None)
    assert "550" in row["last_error"]
    assert row["next_attempt_at"] > row["recorded_at"]  # backed off, not retried at once

    with caplog.at_level(logging.ERROR, logger="workers.email.sender"):
        wait_until(lambda: email_service.sender.drain() and not email_service.unsent(), message="never retried")

    [row] = [row for row in email_service.rows() if row["order_id"] == refused]
    assert row["attempts"] == 2 and row["failed_at"] is not None and row["sent_at"] is None
    assert f"{message_id(refused, 'pending')} not sent after 2 attempts, given up" in caplog.text
    assert smtp_server.inbox.message_ids() == [message_id(accepted, "pending")]


class ProcessDied(BaseException):
    """Stands for the process dying: nothing after it runs, no handler catches it."""


class DiesAfterSending:
    """A mailer that hands the message to the real one, then dies before the sender can mark it sent."""

    def __init__(self, mailer: SmtpMailer) -> None:
        self.mailer = mailer

    def send(self, message: object, *, name: str) -> str:
        self.mailer.send(message, name=name)  # type: ignore[arg-type]
        raise ProcessDied

    def close(self) -> None:
        self.mailer.close()


def _die_after_sending(email_service: EmailHarness, claim_ttl_s: float) -> None:
    """This replica's sender claims what is due, sends the first message, and dies before marking it."""
    mailer = email_service.sender.mailer
    assert isinstance(mailer, SmtpMailer)
    dying = Sender(
        email_service.db,
        DiesAfterSending(SmtpMailer(host=mailer.host, port=mailer.port)),
        email_service.sender.compose,
        owner=email_service.sender.owner,
        settings=SenderSettings(claim_ttl_s=claim_ttl_s),
    )
    try:
        with pytest.raises(ProcessDied):
            dying.send_due()
    finally:
        dying.mailer.close()  # what the kernel does for a process that died


def test_a_crash_between_sending_and_marking_sends_again_with_the_same_message_id(
    start_email: EmailFactory, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    email_service = start_email({"SMTP_URL": smtp_server.url})
    order_id = _place(email_service)
    email_service.record_until_idle()
    _die_after_sending(email_service, claim_ttl_s=60.0)
    assert smtp_server.inbox.message_ids() == [message_id(order_id, "pending")]
    assert email_service.unsent() == 1

    email_service.run_until_idle()  # the replica restarted under its name takes its own claim back at once

    assert smtp_server.inbox.message_ids() == [message_id(order_id, "pending")] * 2
    assert email_service.unsent() == 0


def test_another_replica_resends_a_crashed_senders_emails_only_once_their_claim_ran_out(
    start_email: EmailFactory, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    crashed, other = start_email({"SMTP_URL": smtp_server.url}), start_email({"SMTP_URL": smtp_server.url})
    first, second = _place(crashed), _place(crashed)
    crashed.record_until_idle()
    _die_after_sending(crashed, claim_ttl_s=3600.0)  # claims both, sends the first, dies
    assert other.sender.drain() == 0  # a live claim is left alone

    with crashed.db.transaction() as conn:  # an hour later, as far as the claims go
        conn.execute(update(notifications).values(claimed_until=time.time() - 1))
    assert other.sender.drain() == 2

    assert smtp_server.inbox.message_ids() == [message_id(o, "pending") for o in (first, first, second)]
    assert other.unsent() == 0


def test_two_replicas_senders_never_send_the_same_notification(
    start_email_on_each_database: EmailFactory, smtp_server: SmtpServer
) -> None:
    smtp_server.start()
    replicas = [start_email_on_each_database({"SMTP_URL": smtp_server.url}) for _ in range(2)]
    orders = [_place(replicas[0]) for _ in range(60)]
    replicas[0].record_until_idle()
    senders = [
        Sender(
            replica.db,
            SmtpMailer(host="127.0.0.1", port=smtp_server.port),
            replica.sender.compose,
            owner=replica.sender.owner,
            settings=SenderSettings(batch_size=3),
        )
        for replica in replicas
    ]
    start = threading.Barrier(len(senders))

    def drain(sender: Sender) -> None:
        start.wait()
        sender.drain()
        sender.mailer.close()

    threads = [threading.Thread(target=drain, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(smtp_server.inbox.message_ids()) == sorted(message_id(o, "pending") for o in orders)
    assert replicas[1].unsent() == 0
