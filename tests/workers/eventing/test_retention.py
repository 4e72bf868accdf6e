"""Housekeeping deletes old inbox rows and sent outbox rows in batches, and keeps the WAL small."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.support.waiting import wait_until
from tests.workers.eventing.support import GROUP, Events, Node, running
from workers.eventing.inbox import record_processed
from workers.eventing.retention import Housekeeping, RetentionPolicy, checkpoint
from workers.eventing.settings import SettingsError
from workers.eventing.tables import backbone_tables

DEADLINE_S = 30.0
HOUR = 3600.0


def short_windows(**overrides: float) -> RetentionPolicy:
    """Windows of seconds, as a test (or a soak) sets them."""
    values: dict[str, float] = {"stream_keep_s": 1.0, "dlq_redrive_s": 1.0, "inbox_keep_s": 3.0, "batch_rows": 2}
    values.update(overrides)
    return RetentionPolicy(**values)  # type: ignore[arg-type]


def test_inbox_rows_older_than_the_window_are_deleted_and_newer_ones_kept(node: Node) -> None:
    _remember(node, [f"old-{n}" for n in range(5)], age_s=HOUR)
    _remember(node, ["new-1"], age_s=0)

    deleted = Housekeeping(node.outbox, node.client, short_windows(), group=GROUP).prune_inbox()

    assert deleted == 5  # in batches of two
    assert _inbox_ids(node) == {"new-1"}


def test_inbox_rows_newer_than_the_groups_oldest_pending_entry_are_kept(node: Node, events: Events) -> None:
    # An entry made two hours ago, read and never acked (the consumer died): it will come again.
    seconds, _ = node.client.time()
    node.client.xadd(events.stream, {b"type": b"other", b"event": b"{}"}, id=f"{(seconds - 2 * 3600) * 1000}-0")
    node.client.xgroup_create(events.stream, GROUP, id="0")
    node.client.xreadgroup(GROUP, "c1", {events.stream: ">"})
    _remember(node, ["before-it"], age_s=3 * HOUR)
    _remember(node, ["after-it"], age_s=HOUR)

    deleted = Housekeeping(node.outbox, node.client, short_windows(), group=GROUP).prune_inbox()

    assert deleted == 1
    assert _inbox_ids(node) == {"after-it"}


def test_sent_outbox_rows_are_bounded_by_count_and_unsent_ones_are_kept(node: Node) -> None:
    node.publish(*range(1, 8))
    assert node.relay().drain() == 7
    node.publish(8, 9)  # not sent yet

    deleted = Housekeeping(node.outbox, node.client, short_windows(outbox_keep_rows=3)).prune_outbox()

    assert deleted == 4
    assert _outbox_rows(node, sent=True) == 3
    assert _outbox_rows(node, sent=False) == 2


def test_sent_outbox_rows_are_bounded_by_time(node: Node) -> None:
    node.publish(1, 2)
    with running(node.relay(retention=short_windows(outbox_keep_s=0.0, interval_s=0.0))):
        wait_until(lambda: _outbox_rows(node, sent=True) == 0 and node.outbox.backlog() == 0, DEADLINE_S, "cleaned")


def test_the_checkpoint_empties_the_sqlite_wal_file(sqlite_node: Node) -> None:
    sqlite_node.publish(*range(1, 500))
    wal = Path(str(sqlite_node.db.engine.url.database) + "-wal")
    assert wal.stat().st_size > 0

    checkpoint(sqlite_node.db)

    assert wal.stat().st_size == 0


def test_an_inbox_window_shorter_than_what_can_redeliver_is_refused() -> None:
    with pytest.raises(SettingsError, match="INBOX_KEEP_S"):
        RetentionPolicy(stream_keep_s=900, dlq_redrive_s=3600, inbox_keep_s=4000)


def _remember(node: Node, event_ids: list[str], age_s: float) -> None:
    inbox = backbone_tables(node.db.metadata).inbox
    with node.db.transaction() as conn:
        record_processed(conn, inbox, GROUP, event_ids)
        conn.execute(update(inbox).where(inbox.c.event_id.in_(event_ids)).values(processed_at=time.time() - age_s))


def _inbox_ids(node: Node) -> set[str]:
    with node.db.snapshot() as conn:
        return set(conn.scalars(select(backbone_tables(node.db.metadata).inbox.c.event_id)))


def _outbox_rows(node: Node, *, sent: bool) -> int:
    t = node.outbox.table
    condition = t.c.sent_at.is_not(None) if sent else t.c.sent_at.is_(None)
    with node.db.snapshot() as conn:
        return int(conn.scalar(select(func.count()).where(condition)) or 0)


def test_consumers_that_left_holding_nothing_are_removed_and_one_with_pending_entries_stays(
    node: Node, events: Events
) -> None:
    node.client.xgroup_create(events.stream, GROUP, id="0", mkstream=True)
    for _ in range(2):
        node.client.xadd(events.stream, {b"type": b"other", b"event": b"{}"})
    node.client.xreadgroup(GROUP, "gone", {events.stream: ">"}, count=1)
    node.client.xreadgroup(GROUP, "holding", {events.stream: ">"}, count=1)
    first = node.client.xpending_range(events.stream, GROUP, min="-", max="+", count=10, consumername="gone")
    node.client.xack(events.stream, GROUP, first[0]["message_id"])
    wait_until(lambda: all(c["idle"] > 100 for c in node.client.xinfo_consumers(events.stream, GROUP)), DEADLINE_S)

    removed = Housekeeping(node.outbox, node.client, short_windows(), group=GROUP).forget_departed_consumers(0.1)

    assert removed == 1
    assert [c["name"] for c in node.client.xinfo_consumers(events.stream, GROUP)] == [b"holding"]
