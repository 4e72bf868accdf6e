"""The shipping database as create_all made it before migrations.

Its shipments, and the backbone's tables.

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
        "shipments",
        sa.Column("shipment_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=50), nullable=False),
        sa.Column("tracking_number", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("shipped_at", sa.Float(), nullable=True),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id"),
        sa.UniqueConstraint("order_id"),
    )
    op.create_index("ix_shipments_status", "shipments", ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("shipments")
    backbone.drop_tables()
