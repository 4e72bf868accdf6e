"""The orders database as create_all made it before migrations.

Its orders, and the backbone's tables.

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
        "orders",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("customer", sa.JSON(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("payment_method", sa.Text(), nullable=False),
        sa.Column("payment", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("payment_version", sa.Integer(), nullable=False),
        sa.Column("stock_reserved", sa.Boolean(), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_index("ix_orders_status_placed_at", "orders", ["status", "placed_at"], unique=False)


def downgrade() -> None:
    op.drop_table("orders")
    backbone.drop_tables()
