"""Bounded storage: how long streams, inbox rows and sent outbox rows are kept, and the housekeeping.

The windows (seconds unless named otherwise), each set by environment:

- ``STREAM_KEEP_S`` (900): history kept on every stream beyond what some consumer group
  still needs. It covers a live page's reconnect (a dropped network, a laptop lid, a
  rolling restart: the page replays from its cursor instead of resyncing) and a look at
  the last quarter of an hour when something went wrong. At 20 orders/s that is about
  200 MiB of Redis memory; the services' databases, not the streams, are the archive.
- ``DLQ_REDRIVE_S`` (86,400): how long a dead letter may be retried. Retrying puts the
  event back on its stream, where groups that handled it long ago skip it through their
  inbox; after this the inbox may have forgotten it, so a retry is refused.
- ``INBOX_KEEP_S`` (172,800): inbox rows older than this are deleted. It must exceed
  ``STREAM_KEEP_S + DLQ_REDRIVE_S`` (checked at start-up); time pending is covered on
  top by never deleting rows newer than the group's oldest pending entry.
  docs/reliability.md has the whole argument.
- ``OUTBOX_KEEP_S`` (3,600) and ``OUTBOX_KEEP_ROWS`` (10,000): sent outbox rows are kept
  for debugging, for that long and at most that many.
- ``RETENTION_INTERVAL_S`` (10): how often the housekeeping runs.

The dead-letter stream is never trimmed here: only an operator does that
(``python -m workers.ops trim --dlq``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, cast

import redis
from sqlalchemy import Index, Table, delete, select

from workers.eventing.database import BUSY_TIMEOUT_MS, Database
from workers.eventing.dead_letters import DLQ_STREAM
from workers.eventing.outbox import Outbox
from workers.eventing.redis_client import as_text
from workers.eventing.settings import Settings, SettingsError
from workers.eventing.tables import INBOX_AGE_INDEX, backbone_tables
from workers.eventing.trimming import ms_of, plan_trim, trim

log = logging.getLogger(__name__)

# A clock margin between Redis (which stamps entry ids) and this host (which stamps inbox rows).
CLOCK_MARGIN_S = 60.0
# A consumer that has not read for this long, with nothing pending, is a process that is gone.
DEPARTED_AFTER_S = 3600.0


@dataclass(frozen=True)
class RetentionPolicy:
    """The retention windows; ``from_settings`` reads them from the environment."""

    stream_keep_s: float = 900.0
    dlq_redrive_s: float = 86_400.0
    inbox_keep_s: float = 172_800.0
    outbox_keep_s: float = 3_600.0
    outbox_keep_rows: int = 10_000
    interval_s: float = 10.0
    batch_rows: int = 500
    max_batches: int = 20  # per turn, so one turn never holds the database for long

    def __post_init__(self) -> None:
        if self.inbox_keep_s <= self.stream_keep_s + self.dlq_redrive_s:
            raise SettingsError(
                "INBOX_KEEP_S must be longer than STREAM_KEEP_S + DLQ_REDRIVE_S, or a redelivered "
                "event could find its inbox row gone"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            stream_keep_s=settings.number("STREAM_KEEP_S", cls.stream_keep_s),
            dlq_redrive_s=settings.number("DLQ_REDRIVE_S", cls.dlq_redrive_s),
            inbox_keep_s=settings.number("INBOX_KEEP_S", cls.inbox_keep_s),
            outbox_keep_s=settings.number("OUTBOX_KEEP_S", cls.outbox_keep_s),
            outbox_keep_rows=settings.integer("OUTBOX_KEEP_ROWS", cls.outbox_keep_rows),
            interval_s=settings.number("RETENTION_INTERVAL_S", cls.interval_s),
        )


@dataclass(frozen=True)
class Swept:
    """What one housekeeping turn removed."""

    stream_entries: int = 0
    inbox_rows: int = 0
    outbox_rows: int = 0


class Housekeeping:
    """Keeps one service's streams and database bounded; run by the relay that holds the lease.

    The publisher of a stream trims it: the stream grows only when its publisher writes,
    the relay lease makes one replica of each service do it, and it costs a few commands
    per stream per turn. Which streams those are is read from the outbox (and remembered),
    so nothing needs declaring.
    """

    def __init__(
        self, outbox: Outbox, client: redis.Redis, policy: RetentionPolicy, *, group: str | None = None
    ) -> None:
        self.outbox = outbox
        self.db = outbox.db
        self.client = client
        self.policy = policy
        self.group = group or outbox.source
        tables = backbone_tables(outbox.db.metadata)
        self._inbox, self._outbox = tables.inbox, tables.outbox
        self._streams: set[str] = set()
        self._next_run = 0.0
        self._indexed = False

    def run_if_due(self) -> Swept | None:
        """One turn if the interval has passed; failures are logged, never raised (publishing goes on)."""
        now = time.monotonic()
        if now < self._next_run:
            return None
        self._next_run = now + self.policy.interval_s
        try:
            return self.run()
        except Exception as exc:  # noqa: BLE001 - housekeeping must not stop the relay
            log.warning("housekeeping %s: %r; trying again in %.0fs", self.outbox.source, exc, self.policy.interval_s)
            return None

    def run(self) -> Swept:
        """Trim this service's streams, prune inbox and outbox, checkpoint the WAL."""
        self._ensure_index()
        swept = Swept(self.trim_streams(), self.prune_inbox(), self.prune_outbox())
        checkpoint(self.db)
        self.forget_departed_consumers()
        if swept.stream_entries or swept.inbox_rows or swept.outbox_rows:
            log.info(
                "housekeeping %s: trimmed %d stream entries, deleted %d inbox and %d sent outbox rows",
                self.outbox.source,
                swept.stream_entries,
                swept.inbox_rows,
                swept.outbox_rows,
            )
        return swept

    def trim_streams(self) -> int:
        with self.db.snapshot() as conn:
            self._streams.update(conn.scalars(select(self._outbox.c.stream).distinct()))
        removed = 0
        for stream in sorted(self._streams - {DLQ_STREAM}):
            removed += trim(self.client, plan_trim(self.client, stream, self.policy.stream_keep_s))
        return removed

    def prune_inbox(self) -> int:
        """Delete this group's inbox rows past the window, in small batches.

        Never a row newer than the group's oldest pending entry: that entry was (perhaps)
        handled and not acked, and will be delivered again, however long it has waited.
        """
        cutoff = time.time() - self.policy.inbox_keep_s
        oldest_pending = self.oldest_pending_ms()
        if oldest_pending is not None:
            cutoff = min(cutoff, oldest_pending / 1000 - CLOCK_MARGIN_S)
        t = self._inbox
        chosen = (
            select(t.c.event_id)
            .where(t.c.group_name == self.group, t.c.processed_at < cutoff)
            .limit(self.policy.batch_rows)
            .scalar_subquery()
        )
        return self._in_batches(delete(t).where(t.c.group_name == self.group, t.c.event_id.in_(chosen)))

    def prune_outbox(self) -> int:
        """Delete sent rows older than ``OUTBOX_KEEP_S`` or beyond the newest ``OUTBOX_KEEP_ROWS``."""
        t = self._outbox
        with self.db.snapshot() as conn:
            newest_kept = conn.scalar(
                select(t.c.seq)
                .where(t.c.sent_at.is_not(None))
                .order_by(t.c.seq.desc())
                .offset(max(self.policy.outbox_keep_rows - 1, 0))
                .limit(1)
            )
        too_old = t.c.sent_at < time.time() - self.policy.outbox_keep_s
        condition = too_old if newest_kept is None else too_old | (t.c.seq < newest_kept)
        chosen = (
            select(t.c.seq).where(t.c.sent_at.is_not(None), condition).limit(self.policy.batch_rows).scalar_subquery()
        )
        return self._in_batches(delete(t).where(t.c.seq.in_(chosen)))

    def oldest_pending_ms(self) -> int | None:
        """When this group's oldest pending entry was made, over the streams it could read."""
        oldest: int | None = None
        for stream in sorted({model.STREAM for model in self.outbox.registry.types.values()}):
            try:
                groups = self.client.xinfo_groups(stream)
            except redis.ResponseError:
                continue  # no such stream
            for group in groups:
                if as_text(group["name"]) != self.group or not int(group["pending"]):
                    continue
                summary = self.client.xpending(stream, self.group)
                if summary.get("min") is not None:
                    made = ms_of(as_text(summary["min"]))
                    oldest = made if oldest is None else min(oldest, made)
        return oldest

    def forget_departed_consumers(self, idle_s: float = DEPARTED_AFTER_S) -> int:
        """Remove this group's consumers that hold nothing and have not read for ``idle_s``.

        Every process start adds a consumer (named after host and pid) to its group; over
        weeks of deploys they would pile up in Redis. One with nothing pending owns nothing,
        so removing it loses nothing; a live consumer reads at least every second.
        """
        removed = 0
        for stream in self._group_streams():
            for consumer in self.client.xinfo_consumers(stream, self.group):
                if int(consumer["pending"]) == 0 and int(consumer["idle"]) > idle_s * 1000:
                    self.client.xgroup_delconsumer(stream, self.group, consumer["name"])
                    removed += 1
        return removed

    def _group_streams(self) -> list[str]:
        """The streams on which this group exists."""
        found = []
        for stream in sorted({model.STREAM for model in self.outbox.registry.types.values()}):
            try:
                groups = self.client.xinfo_groups(stream)
            except redis.ResponseError:
                continue  # no such stream
            if any(as_text(group["name"]) == self.group for group in groups):
                found.append(stream)
        return found

    def _in_batches(self, statement: Any) -> int:
        total = 0
        for _ in range(self.policy.max_batches):
            with self.db.transaction() as conn:
                deleted = int(conn.execute(statement).rowcount or 0)
            total += deleted
            if deleted < self.policy.batch_rows:
                break
        return total

    def _ensure_index(self) -> None:
        # The inbox of a database made before retention existed lacks the index the
        # pruning query needs; without it every turn would scan the whole table.
        if self._indexed:
            return
        inbox_index(self._inbox).create(self.db.engine, checkfirst=True)
        self._indexed = True


def inbox_index(inbox: Table) -> Index:
    """The index on (group, processed_at) that inbox pruning walks (declared in tables.py)."""
    return next(index for index in inbox.indexes if index.name == INBOX_AGE_INDEX)


def checkpoint(db: Database) -> None:
    """Fold an SQLite database's ``-wal`` file back into it and truncate it.

    SQLite checkpoints on its own every 1,000 pages but never shrinks the file, and under
    steady readers a checkpoint may never complete; this one waits at most 200 ms for
    them, so it never holds up the service for long, and tries again next turn.
    """
    if not db.is_sqlite:
        return
    with db.engine.connect() as conn:
        raw = cast(Any, conn.connection).driver_connection
        raw.execute("PRAGMA busy_timeout=200")
        try:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
