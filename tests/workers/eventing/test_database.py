"""A service's database: bookkeeping commits without the fsync, and every other commit still with it."""

from __future__ import annotations

from sqlalchemy import func, insert, select, text

from tests.workers.eventing.support import Node


def test_a_transaction_that_need_not_be_durable_commits_and_leaves_the_next_ones_durable(sqlite_node: Node) -> None:
    db = sqlite_node.db
    with db.transaction(durable=False) as conn:
        conn.execute(insert(sqlite_node.things).values(id="thing-1", version=1))
        assert conn.scalar(text("PRAGMA synchronous")) == 1  # NORMAL: no fsync at this commit

    with db.transaction() as conn:
        assert conn.scalar(text("PRAGMA synchronous")) == 2  # FULL again, on the same pooled connection
        assert conn.scalar(select(func.count()).select_from(sqlite_node.things)) == 1
