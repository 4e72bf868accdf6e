"""The email service's own database."""

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from workers.eventing.tables import backbone_tables, sequence, string, table_of, text


class EmailTable(SQLModel, registry=registry()):
    """The email database's tables."""


class EmailNotification(EmailTable, table=True):
    """One row per email, recorded in the consumer's transaction and marked once it went out.

    (Named apart from the ``notifications`` table of sent emails that earlier versions
    kept, whose rows could not be unsent; a database from then keeps that table unused.)
    """

    __tablename__ = "email_notifications"
    # The promise: one email per order and status, however often the event comes.
    __table_args__ = (UniqueConstraint("order_id", "status", name="uq_email_notifications_order_status"),)
    # Sending order.
    seq: int | None = sequence()
    order_id: str = string(64)
    status: str = string(20)
    message_id: str = string(200)
    event_id: str = string(64)
    # What the email is rendered from when it is sent: the order as the event had it, and
    # the event's time (the Date header), so a resent email is the same email.
    snapshot: str = text()
    occurred_at: str = string(40)
    recorded_at: float
    # Delivery: a sender claims due rows for a while, then marks them sent or failed.
    attempts: int = 0
    next_attempt_at: float
    claimed_by: str | None = string(200, default=None)
    claimed_until: float | None = None
    last_error: str | None = text(default=None)
    sent_at: float | None = None
    failed_at: float | None = None  # given up after the last attempt


METADATA = EmailTable.metadata
notifications = table_of(EmailNotification)
backbone_tables(METADATA)

# Only the rows still to send, in sending order: the sender's look-up stays small however many went out.
Index(
    "ix_email_notifications_unsent",
    notifications.c.seq,
    sqlite_where=notifications.c.sent_at.is_(None) & notifications.c.failed_at.is_(None),
    postgresql_where=notifications.c.sent_at.is_(None) & notifications.c.failed_at.is_(None),
)
