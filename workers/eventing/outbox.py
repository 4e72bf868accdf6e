"""The transactional outbox: events are rows written with the state they describe.

A ``UnitOfWork`` is one local transaction. Handlers change their tables through
``uow.conn`` and ``uow.publish(...)`` events; the events become outbox rows in the
same transaction. Once it commits, either the process publishes the rows itself (a
``Claim``: a consumer does, in the pipeline of its ``XACK``) or the relay is woken to
send them.
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, func, insert, select, update

from workers.eventing import tracing
from workers.eventing.database import Database
from workers.eventing.envelope import Envelope, EventData
from workers.eventing.ids import uuid7
from workers.eventing.publishing import Claim, OutboxRow
from workers.eventing.registry import Received, Registry
from workers.eventing.tables import backbone_tables

G = TypeVar("G")


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
        self._gathered: dict[str, tuple[Any, Callable[[Connection, Any], None]]] = {}

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed (never if it rolls back).

        It runs in the context it was registered in, so its log lines carry the ids of
        the event being handled (``workers.eventing.logs``).
        """
        self.committed.append(partial(contextvars.copy_context().run, callback))

    def gather(self, key: str, factory: Callable[[], G], flush: Callable[[Connection, G], None]) -> G:
        """A value this transaction collects across its events, written once by ``flush`` before the commit.

        The first call with ``key`` makes the value with ``factory``; later calls get the same
        one. For bookkeeping a batch needs once rather than once per event (how far a read
        model has read a stream): a batch of 100 events then costs one statement, not 100.
        """
        if key not in self._gathered:
            self._gathered[key] = (factory(), flush)
        value: G = self._gathered[key][0]
        return value

    def flush_gathered(self) -> None:
        """Write what was gathered (the outbox calls this in the transaction, just before its own rows)."""
        for value, flush in self._gathered.values():
            flush(self.conn, value)
        self._gathered.clear()

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
        correlation = correlation_id or (cause.correlation_id if cause else aggregate_id)
        if not 0 < len(aggregate_id) <= 100 or not 0 < len(correlation) <= 100 or aggregate_version < 0:
            raise ValueError(
                "an event needs an aggregate_id and correlation_id of 1 to 100 characters and a version >= 0"
            )
        event_id, causation = uuid7(), (cause.id if cause else None)
        # The head is ours (checked above); the data is validated against its contract by
        # the registry's encoder, before anything is written. This is the hot path of every
        # handler: no envelope model is built, and orjson writes the JSON.
        head: dict[str, Any] = {
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
        if (traceparent := tracing.current_traceparent()) is not None:
            head["traceparent"] = traceparent
        payload = self._registry.payload(head, data)
        published = Published(
            event_id, data.TYPE, self.source, aggregate_id, aggregate_version, correlation, causation, payload
        )
        self.staged.append(published)
        return published


class Outbox:
    """Where a service's units of work leave their events, for their process or the relay to publish."""

    def __init__(self, db: Database, source: str, registry: Registry) -> None:
        self.db = db
        self.source = source
        self.registry = registry
        self.table = t = backbone_tables(db.metadata).outbox
        # The hot statements, built once: building one (and its cache key) per batch cost
        # more than running it (profiled).
        self._insert = insert(t).returning(t.c.seq, sort_by_parameter_order=True)
        older = select(t.c.seq).where(t.c.sent_at.is_(None), t.c.seq < bindparam("seq")).limit(bindparam("limit"))
        self._count_older = select(func.count()).select_from(older.subquery())
        self._mark = update(t).where(t.c.seq.in_(bindparam("seqs", expanding=True))).values(sent_at=bindparam("now"))
        # Held by whoever publishes rows of this outbox in this process (the relay, or a
        # claim from its admission to its settling), so the two never send a row twice.
        self.publishing = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._event_listeners: list[Callable[[Sequence[Published]], None]] = []
        self._leftover_listeners: list[Callable[[], None]] = []

    def claim(self) -> Claim:
        """A claim holding this outbox's publishing lock: take it before the units of work begin.

        Waiting here, outside any transaction, cannot deadlock with the relay (which takes
        the lock first and the database's write lock second, as the claim's units of work do);
        and a relay that just published leftovers makes way for the claim instead of
        catching its rows again and again.
        """
        claim = Claim()
        self.publishing.acquire()
        claim.lock = self.publishing
        return claim

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every commit that staged events, before anything is published."""
        self._listeners.append(listener)

    def on_committed_events(self, listener: Callable[[Sequence[Published]], None]) -> None:
        """Call ``listener`` with the events of every commit that staged some and no claim took.

        For a process that publishes its own events at once (``after_commit``); the
        listener must not raise: the transaction is already committed.
        """
        self._event_listeners.append(listener)

    def on_leftover(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever committed rows are left for the relay (the relay's wake-up)."""
        self._leftover_listeners.append(listener)

    @contextmanager
    def unit_of_work(self, cause: Received[Any] | None = None, *, claim: Claim | None = None) -> Iterator[UnitOfWork]:
        """A transaction whose published events are committed with it, or not at all.

        With a ``claim``, the committed rows join it if no older row is still unsent, and
        the caller publishes them (then ``settle``); otherwise the relay is woken for them.
        """
        with self.db.transaction() as conn:
            uow = UnitOfWork(conn, self.source, self.registry, cause)
            yield uow
            uow.flush_gathered()
            rows = self.write(uow)
            admitted = claim is not None and bool(rows) and self._admit(conn, claim, rows)
        try:
            if uow.staged:
                self._hand_over(uow, rows, claim, admitted=admitted)
        finally:
            for callback in uow.committed:
                callback()

    def _hand_over(self, uow: UnitOfWork, rows: list[OutboxRow], claim: Claim | None, *, admitted: bool) -> None:
        """After the commit: the rows go to the claim, else to whoever publishes this process's commits or the relay."""
        try:
            self.notify()
        except BaseException:
            # Committed, not yet claimed: the relay has them, in their place in the order.
            if claim is not None:
                claim.refused = True
                claim.left_over += len(rows)
            self.left_over()
            raise
        if claim is not None and admitted:
            claim.rows.extend(rows)
            return
        if claim is not None:
            claim.left_over += len(rows)
        for listener in self._event_listeners:
            listener(uow.staged)
        self.left_over()

    def write(self, uow: UnitOfWork) -> list[OutboxRow]:
        """Insert the unit of work's staged events as outbox rows (same transaction); return them."""
        if not uow.staged:
            return []
        now = time.time()
        streams = [self.registry.stream_of(event.type) for event in uow.staged]
        rows = [
            {
                "event_id": event.id,
                "stream": stream,
                "event_type": event.type,
                "payload": event.payload,
                "created_at": now,
                "sent_at": None,
            }
            for event, stream in zip(uow.staged, streams, strict=True)
        ]
        # One multi-row INSERT ... RETURNING: the seqs come back in the rows' order.
        seqs = list(uow.conn.scalars(self._insert, rows))
        return [
            OutboxRow(seq, stream, event.type, event.payload)
            for seq, stream, event in zip(seqs, streams, uow.staged, strict=True)
        ]

    def _admit(self, conn: Connection, claim: Claim, rows: list[OutboxRow]) -> bool:
        """Whether ``rows`` may go out with ``claim``: nothing older than them is unsent but the claim's own."""
        if claim.refused:
            return False
        if claim.lock is None:
            # A claim made without ``Outbox.claim``: never wait for the lock here, the relay
            # may hold it while it waits for this transaction's write lock. A busy relay
            # publishes these rows too, in order.
            if not self.publishing.acquire(blocking=False):
                claim.refused = True
                return False
            claim.lock = self.publishing
        older = self.unsent_before(conn, rows[0].seq, limit=len(claim.rows) + 1)
        if older != len(claim.rows):
            claim.refused = True
            return False
        return True

    def settle(self, claim: Claim, *, published: bool) -> None:
        """After the claim's ``XADD``s: mark its rows sent if they went out, else leave them to the relay.

        Always releases what the claim holds; call it whatever happened (``finally``).
        """
        rows, claim.rows = claim.rows, []
        marked = not rows
        try:
            if rows and published:
                with self.db.transaction(durable=False) as conn:
                    self.mark_sent(conn, [row.seq for row in rows])
                marked = True
        finally:
            if claim.lock is not None:
                claim.lock.release()
                claim.lock = None
            if not marked:
                self.left_over()

    def notify(self) -> None:
        for listener in self._listeners:
            listener()

    def left_over(self) -> None:
        for listener in self._leftover_listeners:
            listener()

    def unsent(self, conn: Connection, limit: int, *, before: float | None = None) -> list[OutboxRow]:
        """The oldest rows not yet published, in publishing order (with ``before``: written before then)."""
        t = self.table
        query = select(t.c.seq, t.c.stream, t.c.event_type, t.c.payload).where(t.c.sent_at.is_(None))
        if before is not None:
            query = query.where(t.c.created_at < before)
        query = query.order_by(t.c.seq).limit(limit)
        return [OutboxRow(*row) for row in conn.execute(query)]

    def unsent_before(self, conn: Connection, seq: int, limit: int) -> int:
        """How many rows older than ``seq`` are unsent, counting no further than ``limit``."""
        return int(conn.scalar(self._count_older, {"seq": seq, "limit": limit}) or 0)

    def mark_sent(self, conn: Connection, seqs: list[int]) -> None:
        conn.execute(self._mark, {"seqs": seqs, "now": time.time()})

    def backlog(self) -> int:
        """How many rows wait to be published (for operators and tests)."""
        with self.db.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).where(self.table.c.sent_at.is_(None))) or 0)
