"""What the email service does: one email per order and status, recorded before it is sent."""

from __future__ import annotations

import logging
import time

from jinja2 import Environment
from sqlalchemy import insert, select

from workers.contracts.orders import OrderSnapshot
from workers.email.mailers import Mailer
from workers.email.messages import compose, file_name, message_id, render, sender_name, subject
from workers.email.tables import notifications
from workers.eventing import Received, UnitOfWork

log = logging.getLogger(__name__)


def notify(
    event: Received[OrderSnapshot], uow: UnitOfWork, *, mailer: Mailer, templates: Environment, sender: str
) -> None:
    """Email the customer about the order's new status, unless that email went out already.

    The row is inserted before sending: a replica handling the same status at the same
    moment then fails on the key instead of sending too. Sending happens inside the
    transaction, so a failed send leaves no row and the event is retried; a crash after
    sending but before the commit sends again, with the same ``Message-ID``.
    """
    order = event.data
    t = notifications
    sent = select(t.c.message_id).where(t.c.order_id == order.order_id, t.c.status == order.status)
    if uow.conn.scalar(sent) is not None:
        log.info("email: %s for order %s already sent", order.status, order.order_id)
        return
    text, html = render(templates, order, sender_name(sender))
    message = compose(order, sender=sender, text=text, html=html, sent_at=event.envelope.occurred_at)
    uow.conn.execute(
        insert(t).values(
            order_id=order.order_id,
            status=order.status,
            message_id=message_id(order.order_id, order.status),
            recipient=order.customer.email,
            subject=subject(order),
            event_id=event.envelope.id,
            sent_at=time.time(),
        )
    )
    mailer.send(message, name=file_name(order.order_id, order.status))
