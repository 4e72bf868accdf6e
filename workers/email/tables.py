"""The email service's own database."""

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

METADATA = MetaData()

# One row per email, recorded in the consumer's transaction and marked once it went out.
# (Named apart from the ``notifications`` table of sent emails that earlier versions
# kept, whose rows could not be unsent; a database from then keeps that table unused.)
notifications = Table(
    "email_notifications",
    METADATA,
    # Sending order; BigInteger is the rowid on SQLite only as Integer, hence the variant.
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("order_id", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("event_id", String(64), nullable=False),
    # What the email is rendered from when it is sent: the order as the event had it, and
    # the event's time (the Date header), so a resent email is the same email.
    Column("snapshot", Text, nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("recorded_at", Float, nullable=False),
    # Delivery: a sender claims due rows for a while, then marks them sent or failed.
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_until", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("sent_at", Float, nullable=True),
    Column("failed_at", Float, nullable=True),  # given up after the last attempt
    # The promise: one email per order and status, however often the event comes.
    UniqueConstraint("order_id", "status", name="uq_email_notifications_order_status"),
)

# Only the rows still to send, in sending order: the sender's look-up stays small however many went out.
Index(
    "ix_email_notifications_unsent",
    notifications.c.seq,
    sqlite_where=notifications.c.sent_at.is_(None) & notifications.c.failed_at.is_(None),
    postgresql_where=notifications.c.sent_at.is_(None) & notifications.c.failed_at.is_(None),
)
