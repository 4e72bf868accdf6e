"""index idempotency keys by age for pruning

app/pruning.py deletes keys older than the window, a batch at a time: without this index
each batch read the whole table to find them.

Revision ID: 0002
Revises: 0001
Created: 2026-12-02
"""

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))
