"""The transactional outbox: events are rows written with the state they describe.

A ``UnitOfWork`` is one local transaction. Handlers change their tables through
``uow.conn`` and ``uow.publish(...)`` events; the events become outbox rows in the
same transaction, and once it commits the relay is woken to send them.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from workers.eventing.database import Database
from workers.eventing.envelope import Envelope, EventData
from workers.eventing.ids import uuid7
from workers.eventing.registry import Received, Registry
from workers.eventing.tables import backbone_tables


@dataclasses.dataclass(frozen=True, slots=True)
class Published:
    """An event a unit of work staged: its envelope's metadata and its JSON."""

    id: str
    type: str
    source: str
    aggregate_id: str
    aggregate_version: int
    correlation_id: str
    causation_id: str | None
    payload: str

    def envelope(self) -> Envelope:
        """The envelope, parsed back from the JSON (for callers that want the whole of it)."""
        return Envelope.model_validate_json(self.payload)


class UnitOfWork:
    """One transaction of a service: its connection and the events it publishes."""

    def __init__(self, conn: Connection, source: str, registry: Registry, cause: Received[Any] | None) -> None:
        self.conn = conn
        self.source = source
        self.cause = cause
        self._registry = registry
        self.staged: list[Published] = []
        self.committed: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed (never if it rolls back)."""
        self.committed.append(callback)

    def publish(
        self,
        data: EventData,
        *,
        aggregate_id: str,
        aggregate_version: int,
        correlation_id: str | None = None,
    ) -> Published:
        """Stage an event; it is written to the outbox when the transaction commits.

        Correlation and causation follow the event being handled, if any.
        """
        cause = self.cause.envelope if self.cause is not None else None
        self._registry.model(data.TYPE)  # an unregistered type fails here, before the commit
        correlation = correlation_id or (cause.correlation_id if cause else aggregate_id)
        if not 0 < len(aggregate_id) <= 100 or not 0 < len(correlation) <= 100 or aggregate_version < 0:
            raise ValueError(
                "an event needs an aggregate_id and correlation_id of 1 to 100 characters and a version >= 0"
            )
        event_id, causation = uuid7(), (cause.id if cause else None)
        # ``data`` was validated when it was made and the rest of the envelope is ours: it
        # is written out in one pass rather than built as a model, validated and dumped
        # again (this is the hot path of every handler). Readers validate it all.
        head = {
            "id": event_id,
            "type": data.TYPE,
            "schema_version": data.SCHEMA_VERSION,
            "source": self.source,
            "occurred_at": datetime.now(UTC).isoformat(),
            "aggregate_id": aggregate_id,
            "aggregate_version": aggregate_version,
            "correlation_id": correlation,
            "causation_id": causation,
        }
        payload = f'{json.dumps(head, separators=(",", ":"))[:-1]},"data":{data.model_dump_json()}}}'
        published = Published(
            event_id, data.TYPE, self.source, aggregate_id, aggregate_version, correlation, causation, payload
        )
        self.staged.append(published)
        return published


class Outbox:
    """Where a service's units of work leave their events for the relay."""

    def __init__(self, db: Database, source: str, registry: Registry) -> None:
        self.db = db
        self.source = source
        self.registry = registry
        self.table = backbone_tables(db.metadata).outbox
        self._listeners: list[Callable[[], None]] = []
        self._event_listeners: list[Callable[[Sequence[Published]], None]] = []

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every commit that staged events (the relay's wake-up)."""
        self._listeners.append(listener)

    def on_committed_events(self, listener: Callable[[Sequence[Published]], None]) -> None:
        """Call ``listener`` with the events of every commit that staged some, right after it.

        For a process that publishes its own events at once (``after_commit``); the
        listener must not raise: the transaction is already committed.
        """
        self._event_listeners.append(listener)

    @contextmanager
    def unit_of_work(self, cause: Received[Any] | None = None) -> Iterator[UnitOfWork]:
        """A transaction whose published events are committed with it, or not at all."""
        with self.db.transaction() as conn:
            uow = UnitOfWork(conn, self.source, self.registry, cause)
            yield uow
            self.write(uow)
        if uow.staged:
            self.notify()
            for listener in self._event_listeners:
                listener(uow.staged)
        for callback in uow.committed:
            callback()

    def write(self, uow: UnitOfWork) -> None:
        """Insert the unit of work's staged events as outbox rows (same transaction)."""
        if not uow.staged:
            return
        now = time.time()
        rows = [
            {
                "event_id": event.id,
                "stream": self.registry.stream_of(event.type),
                "event_type": event.type,
                "payload": event.payload,
                "created_at": now,
                "sent_at": None,
            }
            for event in uow.staged
        ]
        uow.conn.execute(insert(self.table), rows)

    def notify(self) -> None:
        for listener in self._listeners:
            listener()

    def unsent(self, conn: Connection, limit: int, *, before: float | None = None) -> list[dict[str, Any]]:
        """The oldest rows not yet published, in publishing order (with ``before``: written before then)."""
        t = self.table
        query = select(t.c.seq, t.c.stream, t.c.event_type, t.c.payload).where(t.c.sent_at.is_(None))
        if before is not None:
            query = query.where(t.c.created_at < before)
        query = query.order_by(t.c.seq).limit(limit)
        return [dict(row._mapping) for row in conn.execute(query)]

    def mark_sent(self, conn: Connection, seqs: list[int]) -> None:
        conn.execute(update(self.table).where(self.table.c.seq.in_(seqs)).values(sent_at=time.time()))

    def backlog(self) -> int:
        """How many rows wait to be published (for operators and tests)."""
        with self.db.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).where(self.table.c.sent_at.is_(None))) or 0)
