"""Drive one service's real wiring step by step, against a real Redis and database.

A test publishes upstream events onto the streams exactly as their producers would,
turns the service's consumer and relay until nothing is left to do, and reads what
the service published. Nothing is mocked: the handlers, inbox, outbox and relay are
the ones the service runs in production.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import redis

from workers.eventing import Consumer, Envelope, EventData, Relay, ServiceSpec, Settings
from workers.eventing.registry import Received
from workers.eventing.service import consumer_of, open_runtime


class ServiceHarness:
    """One service, wired as ``python -m workers.<service>`` wires it, run by hand."""

    def __init__(
        self,
        spec: ServiceSpec,
        *,
        redis_url: str,
        database_url: str,
        data_dir: Path,
        env: Mapping[str, str] | None = None,
        consumer_name: str = "test-consumer",
    ) -> None:
        environ = {
            "DATA_DIR": str(data_dir),
            "REDIS_URL": redis_url,
            f"{spec.name.upper()}_DATABASE_URL": database_url,
            **(env or {}),
        }
        self.spec = spec
        self.runtime = open_runtime(spec, Settings.from_env(environ))
        self.wiring = spec.wire(self.runtime)
        settings = dataclasses.replace(consumer_of(self.runtime, self.wiring), block_ms=5, consumer_name=consumer_name)
        self.consumer = Consumer(
            self.runtime.outbox,
            self.runtime.client,
            spec.name,
            self.wiring.handlers,
            settings=settings,
            ticks=self.wiring.ticks,
        )
        self.relay = Relay(self.runtime.outbox, self.runtime.client, owner=consumer_name)
        self.consumer.ensure_groups()
        for hook in self.wiring.on_start:
            hook()

    @property
    def client(self) -> redis.Redis:
        return self.runtime.client

    @property
    def db(self) -> Any:
        return self.runtime.db

    def publish(
        self,
        data: EventData,
        *,
        aggregate_id: str,
        aggregate_version: int = 1,
        correlation_id: str | None = None,
        source: str = "test",
    ) -> Envelope:
        """Put an event on its stream as its producer's relay would."""
        envelope = Envelope.wrap(
            data,
            source=source,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            correlation_id=correlation_id or aggregate_id,
        )
        self.redeliver(envelope)
        return envelope

    def redeliver(self, envelope: Envelope) -> None:
        """Add the same event to its stream again (a duplicate, as a relay retry makes)."""
        registry = self.spec.registry
        self.client.xadd(registry.stream_of(envelope.type), registry.encode(envelope))  # type: ignore[arg-type]

    def run_until_idle(self, max_steps: int = 100) -> None:
        """Publish the outbox, then consume and tick until a step handles nothing."""
        for _ in range(max_steps):
            self.relay.drain()
            if not self.consumer.step() and not self._has_new_entries():
                self.relay.drain()
                return
        raise AssertionError(f"{self.spec.name} still busy after {max_steps} steps")

    def published(self, stream: str, event_type: str | None = None) -> list[Received[Any]]:
        """Every event on ``stream`` (optionally of one type), decoded and validated."""
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]], self.client.xrange(stream))
        events = [self.spec.registry.decode(stream, entry_id.decode(), fields) for entry_id, fields in entries]
        return [e for e in events if event_type is None or e.envelope.type == event_type]

    def close(self) -> None:
        self.runtime.client.close()
        self.runtime.db.dispose()

    def _has_new_entries(self) -> bool:
        for stream in self.consumer.streams:
            groups: list[dict[str, Any]] = self.client.xinfo_groups(stream)
            for group in groups:
                if group["name"] in (self.spec.name, self.spec.name.encode()) and (group.get("lag") or 0) > 0:
                    return True
        return False


@contextmanager
def harnesses(
    spec: ServiceSpec,
    *,
    redis_url: str,
    database_url: str,
    data_dir: Path,
    kind: type[ServiceHarness] = ServiceHarness,
) -> Iterator[Callable[..., ServiceHarness]]:
    """A starter of replicas of one service (``start(env=...)``), each its own consumer; all closed at the end.

    ``kind`` is a subclass of ``ServiceHarness`` for a service that runs more than its consumer.
    """
    started: list[ServiceHarness] = []

    def start(env: Mapping[str, str] | None = None) -> ServiceHarness:
        harness = kind(
            spec,
            redis_url=redis_url,
            database_url=database_url,
            data_dir=data_dir,
            env=env,
            consumer_name=f"replica-{len(started) + 1}",
        )
        started.append(harness)
        return harness

    try:
        yield start
    finally:
        for harness in started:
            harness.close()
