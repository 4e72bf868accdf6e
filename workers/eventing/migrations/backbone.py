"""The backbone's tables (outbox, inbox, relay lease) in every service's migration history.

Each service's first revision creates them with ``create_tables()``; they are frozen as of
that revision. A later change to them (workers/eventing/tables.py) is a new function here,
called from a new revision of every service.
"""

import sqlalchemy as sa
from alembic import op


def create_tables() -> None:
    """The backbone's tables as the first revision of every service makes them."""
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "seq"], unique=False)
    op.create_table(
        "inbox",
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("processed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("group_name", "event_id"),
    )
    op.create_index("ix_inbox_processed_at", "inbox", ["group_name", "processed_at"], unique=False)
    op.create_table(
        "relay_lease",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def drop_tables() -> None:
    op.drop_table("relay_lease")
    op.drop_table("inbox")  # its index goes with it
    op.drop_table("outbox")
