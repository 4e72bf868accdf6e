"""The email database as create_all made it before migrations.

Its email notifications, and the backbone's tables.

Revision ID: 0001
Revises: (nothing: the first revision)
Created: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from workers.eventing.migrations import backbone

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    backbone.create_tables()
    op.create_table(
        "email_notifications",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("failed_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("order_id", "status", name="uq_email_notifications_order_status"),
    )
    op.create_index(
        "ix_email_notifications_unsent",
        "email_notifications",
        ["seq"],
        unique=False,
        sqlite_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
        postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("email_notifications")
    backbone.drop_tables()
