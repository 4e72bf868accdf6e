"""What the backbone's tests share: test-only event types, a service's tables, and running its parts.

Every test gets event types of its own on streams of its own (``event_types(unique)``),
and each "service" here is a ``Node``: its own database, outbox and Redis client, as
a worker process has them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import redis
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from workers.eventing import (
    Consumer,
    ConsumerSettings,
    Database,
    Envelope,
    EventData,
    Handler,
    Outbox,
    Received,
    Registry,
    Relay,
    Tick,
    UnitOfWork,
)
from workers.eventing.outbox import Published
from workers.eventing.redis_client import connect
from workers.eventing.settings import RedisTarget
from workers.eventing.tables import backbone_tables

GROUP = "tester"


class Happened(EventData):
    """The event the tests publish; ``n`` tells events apart."""

    TYPE: ClassVar[str] = "test.happened"
    STREAM: ClassVar[str] = "test-happened"

    n: int


class Followed(EventData):
    """What a handler publishes in reaction to a ``Happened``."""

    TYPE: ClassVar[str] = "test.followed"
    STREAM: ClassVar[str] = "test-followed"

    n: int


@dataclass(frozen=True)
class Events:
    """One test's event types, on streams no other test uses."""

    happened: type[Happened]
    followed: type[Followed]
    registry: Registry

    @property
    def stream(self) -> str:
        return self.happened.STREAM


def event_types(unique: str) -> Events:
    """``Happened`` and ``Followed`` on streams named after ``unique``."""

    class ThisHappened(Happened):
        STREAM: ClassVar[str] = f"happened-{unique}"

    class ThisFollowed(Followed):
        STREAM: ClassVar[str] = f"followed-{unique}"

    return Events(ThisHappened, ThisFollowed, Registry([ThisHappened, ThisFollowed]))


def service_metadata() -> MetaData:
    """A service's tables: ``effects`` (one row per handled event) and ``things`` (some state)."""
    metadata = MetaData()
    Table(
        "effects",
        metadata,
        # No unique key on event_id on purpose: only the inbox may keep an effect single.
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False),
        Column("n", Integer, nullable=False),
        Column("consumer", String(200), nullable=False),
    )
    Table(
        "things",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("version", Integer, nullable=False),
    )
    backbone_tables(metadata)
    return metadata


class Node:
    """One service instance: its own database (tables created), outbox and Redis client."""

    def __init__(self, name: str, database_url: str, redis_url: str | RedisTarget, events: Events) -> None:
        self.name = name
        self.events = events
        self.db = Database(database_url, service_metadata())
        self.db.create_tables()
        self.outbox = Outbox(self.db, name, events.registry)
        self.client = connect(redis_url)
        self.effects = self.db.metadata.tables["effects"]
        self.things = self.db.metadata.tables["things"]

    def consumer(
        self,
        handlers: Mapping[str, Handler] | None = None,
        *,
        group: str = GROUP,
        name: str | None = None,
        ticks: Sequence[Tick] = (),
        **settings: Any,
    ) -> Consumer:
        """A consumer of ``Happened`` events that records an effect per event, unless told otherwise."""
        name = name or f"{self.name}-consumer"
        if handlers is None:
            handlers = {self.events.happened.TYPE: record_effect(self.effects, name)}
        options: dict[str, Any] = {"block_ms": 100, "retry_delay_s": 0.01, "consumer_name": name, **settings}
        consumer = Consumer(
            self.outbox, self.client, group, handlers, settings=ConsumerSettings(**options), ticks=ticks
        )
        consumer.ensure_groups()
        return consumer

    def relay(self, **options: Any) -> Relay:
        return Relay(self.outbox, self.client, owner=f"{self.name}-relay", **{"poll_interval": 0.05, **options})

    def publish(self, *numbers: int, aggregate_id: str = "thing-1") -> list[Published]:
        """One unit of work that publishes a ``Happened`` per number."""
        with self.outbox.unit_of_work() as uow:
            return [
                uow.publish(self.events.happened(n=n), aggregate_id=aggregate_id, aggregate_version=n) for n in numbers
            ]

    def effect_counts(self) -> Counter[str]:
        """How many times each event's effect was applied, by event id."""
        with self.db.snapshot() as conn:
            return Counter(conn.scalars(select(self.effects.c.event_id)))

    def close(self) -> None:
        self.client.close()
        self.db.dispose()


def record_effect(effects: Table, consumer: str) -> Handler:
    """A durable handler: one ``effects`` row per event, in the handler's transaction."""

    def handle(event: Received[Any], uow: UnitOfWork) -> None:
        uow.conn.execute(insert(effects).values(event_id=event.envelope.id, n=event.data.n, consumer=consumer))

    return handle


def add_to_stream(client: redis.Redis, registry: Registry, envelope: Envelope) -> str:
    """Put an event on its stream directly, as some producer's relay would."""
    entry_id = client.xadd(registry.stream_of(envelope.type), cast(Any, registry.encode(envelope)))
    return _text(entry_id)


def add_raw(client: redis.Redis, stream: str, fields: Mapping[bytes, bytes]) -> str:
    """Put arbitrary fields on a stream (an entry no relay of ours would write)."""
    return _text(client.xadd(stream, cast(Any, dict(fields))))


def new_envelope(data: EventData, aggregate_id: str = "thing-1") -> Envelope:
    return Envelope.wrap(
        data, source="elsewhere", aggregate_id=aggregate_id, aggregate_version=1, correlation_id=aggregate_id
    )


def stream_event_ids(client: redis.Redis, stream: str) -> list[str]:
    """The event ids on a stream, in stream order (duplicates included)."""
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(stream))
    return [Envelope.model_validate_json(fields[b"event"]).id for _, fields in entries]


def pending_count(client: redis.Redis, stream: str, group: str = GROUP) -> int:
    """Entries the group has read but not acknowledged."""
    return int(client.xpending(stream, group)["pending"])


def caught_up(client: redis.Redis, stream: str, group: str = GROUP) -> bool:
    """Whether the group has read every entry of the stream and acknowledged each."""
    for info in client.xinfo_groups(stream):
        if _text(info["name"]) == group:
            return bool(info["lag"] == 0 and info["pending"] == 0)
    return False


@contextmanager
def running(*parts: Consumer | Relay) -> Iterator[list[threading.Thread]]:
    """Run consumers and relays in threads, as a worker process does; stop them on exit."""
    stop = threading.Event()
    threads = [part.start(stop) for part in parts]
    try:
        yield threads
    finally:
        stop.set()
        for part in parts:
            if isinstance(part, Relay):
                part.wake()  # a relay sees ``stop`` when it next wakes, or after its poll interval
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads), "a consumer or relay did not stop"


def failing(times: int, then: Handler) -> tuple[Handler, Callable[[], int]]:
    """A handler that raises on its first ``times`` calls, then behaves like ``then``; and its call count."""
    calls = 0

    def handle(event: Received[Any], uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        then(event, uow)  # the effect is written, then lost with the rollback
        if calls <= times:
            raise RuntimeError(f"failure number {calls}")

    return handle, lambda: calls


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
