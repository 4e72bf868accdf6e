"""The payments database as create_all made it before migrations.

Its payments and the orders cancelled before payment, and the backbone's tables.

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
        "cancelled_orders",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("provider_reference", sa.String(length=100), nullable=True),
        sa.Column("refund_reference", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("payment_id"),
        sa.UniqueConstraint("order_id"),
    )


def downgrade() -> None:
    op.drop_table("payments")
    op.drop_table("cancelled_orders")
    backbone.drop_tables()
