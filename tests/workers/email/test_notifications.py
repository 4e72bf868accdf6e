"""One email per order and status, written as an .eml file when no SMTP server is configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.harness import ServiceHarness
from tests.workers.email.conftest import EmailFactory, bodies, read_eml
from tests.workers.order_snapshots import line, new_order_id, order_event
from workers.contracts.common import Customer
from workers.contracts.orders import (
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderDispatched,
    OrderPlaced,
    OrderRefunded,
    OrderShipped,
    OrderSnapshot,
    PaymentState,
)
from workers.email.tables import notifications

SUBJECTS = [
    (OrderPlaced, "We received your order {}"),
    (OrderConfirmed, "Your order {} is confirmed"),
    (OrderCancelled, "Your order {} was cancelled"),
    (OrderDispatched, "Your order {} has left our warehouse"),
    (OrderShipped, "Your order {} is on its way"),
    (OrderDelivered, "Your order {} was delivered"),
]


def _publish(email_service: ServiceHarness, data: OrderSnapshot) -> None:
    email_service.publish(data, aggregate_id=data.order_id, aggregate_version=len(data.history))


@pytest.mark.parametrize(("model", "subject"), SUBJECTS, ids=[model.TYPE for model, _ in SUBJECTS])
def test_each_status_is_emailed_to_the_customer(
    email_service: ServiceHarness, mail_dir: Path, model: type[OrderSnapshot], subject: str
) -> None:
    order_id = new_order_id()
    data = order_event(model, order_id, [(1, 2)])
    _publish(email_service, data)
    email_service.run_until_idle()

    [path] = mail_dir.glob("*.eml")
    assert path.name == f"{order_id}-{data.status}.eml"
    message = read_eml(path)
    assert message["Subject"] == subject.format(order_id)
    assert message["From"] == "Storefront <shop@storefront.local>"
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message.get_content_type() == "multipart/alternative"
    text, html = bodies(message)
    assert "Hello Ada Lovelace" in text and "Hello Ada Lovelace" in html
    assert "Product 1" in text and "€20.00" in text
    assert "<table" in html and "€20.00" in html


def test_the_message_id_names_the_order_and_the_status(email_service: ServiceHarness, mail_dir: Path) -> None:
    order_id = new_order_id()
    _publish(email_service, order_event(OrderConfirmed, order_id, [(1, 1)]))
    email_service.run_until_idle()

    message = read_eml(mail_dir / f"{order_id}-confirmed.eml")
    assert message["Message-ID"] == f"<{order_id}.confirmed@storefront.local>"


def test_every_status_of_an_order_gets_its_own_email(email_service: ServiceHarness, mail_dir: Path) -> None:
    order_id = new_order_id()
    for model in (OrderPlaced, OrderConfirmed, OrderDispatched, OrderShipped, OrderDelivered):
        _publish(email_service, order_event(model, order_id, [(1, 1)]))
    email_service.run_until_idle()

    names = sorted(path.name for path in mail_dir.glob("*.eml"))
    statuses = ["confirmed", "delivered", "dispatched", "pending", "shipped"]
    assert names == [f"{order_id}-{status}.eml" for status in statuses]


def test_a_redelivered_or_repeated_event_sends_no_second_email(email_service: ServiceHarness, mail_dir: Path) -> None:
    order_id = new_order_id()
    data = order_event(OrderPlaced, order_id, [(1, 1)])
    placed = email_service.publish(data, aggregate_id=order_id)
    email_service.run_until_idle()
    sent = mail_dir / f"{order_id}-pending.eml"
    sent.unlink()  # were it sent again, the file would come back

    email_service.redeliver(placed)
    _publish(email_service, data)  # the same status again, as a new event
    email_service.run_until_idle()

    assert not sent.exists()
    with email_service.db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(notifications)) == 1


def test_the_html_escapes_what_the_shopper_typed(email_service: ServiceHarness, mail_dir: Path) -> None:
    order_id = new_order_id()
    customer = Customer(
        email="mallory@example.com",
        name='<script>alert("name")</script>',
        address="<img src=x onerror=alert(1)>",
    )
    lines = [line(1, 1, name="<b>Bold</b> mug")]
    _publish(email_service, order_event(OrderPlaced, order_id, lines, customer=customer))
    email_service.run_until_idle()

    message = read_eml(mail_dir / f"{order_id}-pending.eml")
    text, html = bodies(message)
    assert "<script>" not in html and "<img" not in html and "<b>Bold" not in html
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;Bold&lt;/b&gt; mug" in html
    assert '<script>alert("name")</script>' in text  # plain text is not HTML: shown as typed
    assert message["To"].addresses[0].display_name == '<script>alert("name")</script>'


def test_a_name_cannot_add_headers(email_service: ServiceHarness, mail_dir: Path) -> None:
    order_id = new_order_id()
    customer = Customer(email="eve@example.com", name="Eve\r\nBcc: victim@example.com", address="1 Road")
    _publish(email_service, order_event(OrderPlaced, order_id, [(1, 1)], customer=customer))
    email_service.run_until_idle()

    message = read_eml(mail_dir / f"{order_id}-pending.eml")
    assert message["Bcc"] is None
    assert message["To"].addresses[0].addr_spec == "eve@example.com"


def test_the_shipped_email_carries_the_carrier_and_tracking_number(
    email_service: ServiceHarness, mail_dir: Path
) -> None:
    order_id = new_order_id()
    data = order_event(OrderShipped, order_id, [(1, 1)], carrier="Parcelo", tracking_number="PCL0123456789")
    _publish(email_service, data)
    email_service.run_until_idle()

    text, html = bodies(read_eml(mail_dir / f"{order_id}-shipped.eml"))
    for body in (text, html):
        assert "Parcelo" in body and "PCL0123456789" in body


def test_the_cancelled_email_says_why_and_promises_the_refund(email_service: ServiceHarness, mail_dir: Path) -> None:
    order_id = new_order_id()
    payment = PaymentState(payment_id=new_order_id(), method="pm_card_visa", status="confirmed")
    data = order_event(OrderCancelled, order_id, [(1, 1)], cancel_reason="out of stock: MUG-1", payment=payment)
    _publish(email_service, data)
    email_service.run_until_idle()

    text, _ = bodies(read_eml(mail_dir / f"{order_id}-cancelled.eml"))
    assert "some items are no longer in stock (MUG-1)" in text
    assert "refunded" in text


def test_the_sender_is_the_shops_configured_address(start_email: EmailFactory, mail_dir: Path) -> None:
    email_service = start_email({"SHOP_MAIL_FROM": "Brew & Steep <hello@brew.example>"})
    order_id = new_order_id()
    _publish(email_service, order_event(OrderPlaced, order_id, [(1, 1)]))
    email_service.run_until_idle()

    message = read_eml(mail_dir / f"{order_id}-pending.eml")
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Brew & Steep", "hello@brew.example")
    assert bodies(message)[0].rstrip().endswith("Brew & Steep")


def test_a_refund_is_emailed_once_beside_the_cancellation(email_service: ServiceHarness, mail_dir: Path) -> None:
    order_id = new_order_id()
    paid = PaymentState(payment_id="pay-1", method="pm_card_visa", status="confirmed", amount_cents=2000)
    cancelled = order_event(OrderCancelled, order_id, [(1, 2)], payment=paid, cancel_reason="cancelled by the customer")
    refunded_payment = paid.model_copy(update={"status": "refunded", "refunded_cents": 2000})
    refunded = order_event(OrderRefunded, order_id, [(1, 2)], status="cancelled", payment=refunded_payment)
    email_service.publish(cancelled, aggregate_id=order_id, aggregate_version=2)
    copy = email_service.publish(refunded, aggregate_id=order_id, aggregate_version=3)
    email_service.run_until_idle()
    email_service.redeliver(copy)
    email_service.publish(refunded, aggregate_id=order_id, aggregate_version=3)  # a republished copy
    email_service.run_until_idle()

    assert sorted(path.name for path in mail_dir.glob("*.eml")) == [
        f"{order_id}-cancelled.eml",
        f"{order_id}-refunded.eml",
    ]
    message = read_eml(mail_dir / f"{order_id}-refunded.eml")
    assert message["Subject"] == f"Your payment for order {order_id} was refunded"
    assert message["Message-ID"] == f"<{order_id}.refunded@storefront.local>"
    assert "refunded €20.00" in bodies(message)[0]
    assert "you asked us to cancel it" in bodies(read_eml(mail_dir / f"{order_id}-cancelled.eml"))[0]
