"""The consumer runner: one loop, written once, that every service's handlers plug into.

Delivery is at least once, effects exactly once:
- ``XREADGROUP`` reads a batch; handlers run inside one local transaction together
  with the inbox rows that remember the events; ``XACK`` follows the commit, in one
  pipeline with the ``XADD``s of the events the batch published (its outbox rows, then
  marked sent), unless older rows still wait for the relay: then these follow them.
- On start (and after a failure) the consumer re-reads its own pending list (id 0)
  before new entries (``>``), so whatever it read before a crash is handled again.
- Entries left pending by a dead consumer are taken over with ``XAUTOCLAIM`` once
  idle for ``claim_idle_ms``.
- An entry that fails ``max_deliveries`` times, or cannot be decoded at all, goes to
  the ``dlq`` stream with its error and is acked, so later events keep flowing.
- Redis away, restarting or loading: wait with backoff and go on. Redis restarted
  empty (``NOGROUP``): create the groups again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import redis
from sqlalchemy.exc import SQLAlchemyError

from workers.eventing import metrics, tracing
from workers.eventing.backoff import Backoff, capped_delay
from workers.eventing.dead_letters import dead_letter
from workers.eventing.inbox import already_processed, record_processed
from workers.eventing.logs import event_context, log_fields
from workers.eventing.outbox import Outbox, UnitOfWork
from workers.eventing.publishing import Claim, add_entries
from workers.eventing.redis_client import BLOCK_MS, TRANSIENT_ERRORS, as_text
from workers.eventing.registry import TYPE_FIELD, MalformedEvent, Received, UnknownEventType
from workers.eventing.summary import Summary
from workers.eventing.tables import backbone_tables

log = logging.getLogger(__name__)

RETRYABLE: tuple[type[Exception], ...] = (*TRANSIENT_ERRORS, SQLAlchemyError)

Handler = Callable[[Received[Any], UnitOfWork], None]
Entries = list[tuple[str, list[tuple[str, dict[bytes, bytes] | None]]]]


def default_consumer_name() -> str:
    """Consumers are named after host and pid, so a replica is recognisable in XINFO."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Tick:
    """Work a service does on a timer between reads (timeouts, a simulated carrier)."""

    interval_s: float
    run: Callable[[], object]


@dataclass
class ConsumerSettings:
    batch_size: int = 200
    block_ms: int = BLOCK_MS
    claim_idle_ms: int = 30_000
    max_deliveries: int = 5
    retry_delay_s: float = 0.2
    # One transaction per batch is what makes a durable handler fast; a consumer whose
    # handlers have outside effects (SMTP) handles one event per transaction instead.
    batch_transaction: bool = True
    consumer_name: str = field(default_factory=default_consumer_name)


class Consumer:
    """Runs one consumer group's handlers over the streams their event types live on."""

    def __init__(
        self,
        outbox: Outbox,
        client: redis.Redis,
        group: str,
        handlers: Mapping[str, Handler],
        *,
        settings: ConsumerSettings | None = None,
        ticks: Sequence[Tick] = (),
    ) -> None:
        self.outbox = outbox
        self.registry = outbox.registry
        self.client = client
        self.group = group
        self.handlers = dict(handlers)
        self.settings = settings or ConsumerSettings()
        self.ticks = list(ticks)
        self.streams = sorted({self.registry.stream_of(event_type) for event_type in self.handlers})
        self._inbox = backbone_tables(outbox.db.metadata).inbox
        self._type_bytes = {t.encode() for t in self.handlers}
        self._tick_due = [0.0 for _ in self.ticks]
        self._pending_due: float | None = 0.0
        self._failures = 0
        self._next_claim = time.monotonic() + self.settings.claim_idle_ms / 1000
        self.summary = Summary(f"consumer {group}/{self.settings.consumer_name}")
        self._duplicates = 0

    @property
    def name(self) -> str:
        return self.settings.consumer_name

    def ensure_groups(self) -> None:
        """Create the group on every stream (from the start); an existing one is fine."""
        for stream in self.streams:
            try:
                self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; the batch in hand is finished first."""
        backoff = Backoff()
        groups_ready = False
        log.info("consumer %s/%s reading %s", self.group, self.name, ", ".join(self.streams))
        while not stop.is_set():
            try:
                if not groups_ready:
                    self.ensure_groups()
                    groups_ready = True
                self.step()
                backoff.reset()
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):
                    log.warning("consumer %s: group missing (Redis lost its data?); re-creating", self.group)
                    groups_ready = False
                    self._pending_due = 0.0
                    continue
                self._wait(stop, backoff, exc)
            except RETRYABLE as exc:
                self._wait(stop, backoff, exc)

    def step(self) -> int:
        """One turn of the loop: ticks, own pending entries, idle claims, new entries."""
        self.summary.log_if_due()
        self._run_due_ticks()
        now = time.monotonic()
        if self._pending_due is not None and now >= self._pending_due:
            entries = self._read("0", block_ms=None)
            handled = self.process(entries)
            if not any(items for _, items in entries):
                self._pending_due = None
            return handled
        if now >= self._next_claim:
            self._next_claim = now + max(self.settings.claim_idle_ms / 2000, 0.05)
            return self.claim_idle()
        return self.process(self._read(">", block_ms=self._block_ms()))

    def claim_idle(self) -> int:
        """Take over and handle entries other consumers left idle for too long."""
        handled = 0
        for stream in self.streams:
            start: Any = "0-0"
            while True:
                reply = self.client.xautoclaim(
                    stream,
                    self.group,
                    self.name,
                    min_idle_time=self.settings.claim_idle_ms,
                    start_id=start,
                    count=self.settings.batch_size,
                )
                next_id, claimed = reply[0], reply[1]
                if claimed:
                    log.info(
                        "consumer %s/%s claimed %d idle entries on %s", self.group, self.name, len(claimed), stream
                    )
                    handled += self.process([(stream, claimed)])
                if as_text(next_id) == "0-0":
                    break
                start = next_id
        return handled

    def process(self, entries: Entries) -> int:
        """Decode, handle, ack; dead-letter what cannot be handled. Returns events applied."""
        acks: dict[str, list[str]] = {}
        work: list[Received[Any]] = []
        raw: dict[tuple[str, str], dict[bytes, bytes]] = {}
        for stream, items in entries:
            for entry_id, fields in items:
                entry_id = as_text(entry_id)
                if not fields:  # trimmed away while pending: nothing left to handle
                    acks.setdefault(stream, []).append(entry_id)
                    continue
                if fields.get(TYPE_FIELD) not in self._type_bytes and fields.get(TYPE_FIELD):
                    acks.setdefault(stream, []).append(entry_id)  # not ours, or unknown: skip
                    continue
                try:
                    work.append(self.registry.decode(stream, entry_id, fields))
                    raw[(stream, entry_id)] = fields
                except UnknownEventType:
                    acks.setdefault(stream, []).append(entry_id)
                except MalformedEvent as exc:
                    log.error("consumer %s: malformed entry %s on %s: %s", self.group, entry_id, stream, exc)
                    self._dead_letter(stream, entry_id, fields, f"malformed: {exc}", deliveries=1)
        claim = self.outbox.claim() if work else Claim()
        published = False
        done: list[Received[Any]] = []
        failed: list[tuple[Received[Any], Exception]] = []
        self._duplicates = 0
        started = time.perf_counter()
        try:
            done, failed = self._apply(work, claim)
            if work:
                metrics.batch_handled(self.group, done, failed, time.perf_counter() - started)
            for received in done:
                acks.setdefault(received.stream, []).append(received.entry_id)
            if acks or claim.rows:
                # One round trip: the batch's events out, then the batch acked.
                pipe = self.client.pipeline(transaction=False)
                add_entries(pipe, claim.rows)
                for stream, ids in acks.items():
                    pipe.xack(stream, self.group, *ids)
                sent_at = time.perf_counter()
                pipe.execute()
                if claim.rows:  # the publish half of the relay's work, done here
                    metrics.relay_published(self.outbox.source, len(claim.rows), time.perf_counter() - sent_at)
            published = True
        finally:
            if work:
                sent = len(claim.rows) if published else 0
                self.summary.add_batch(
                    handled=len(done) - self._duplicates,
                    duplicates=self._duplicates,
                    failed=len(failed),
                    published=sent,
                    left_over=claim.left_over + len(claim.rows) - sent,
                )
            self.outbox.settle(claim, published=published)
        for received, error in failed:
            self._after_failure(received, raw[(received.stream, received.entry_id)], error)
        if failed:
            self._failures += 1
            delay = capped_delay(self._failures, self.settings.retry_delay_s, 5.0)
            self._pending_due = time.monotonic() + delay
        elif work:
            self._failures = 0
        return len(done)

    def _apply(
        self, work: list[Received[Any]], claim: Claim
    ) -> tuple[list[Received[Any]], list[tuple[Received[Any], Exception]]]:
        if not work:
            return [], []
        if self.settings.batch_transaction and len(work) > 1:
            try:
                with self.outbox.unit_of_work(claim=claim) as uow:
                    duplicates = self._handle(uow, work)
                self._duplicates += duplicates
                return work, []
            except Exception:
                log.debug("consumer %s: batch failed, retrying one by one", self.group, exc_info=True)
        done: list[Received[Any]] = []
        failed: list[tuple[Received[Any], Exception]] = []
        for received in work:
            try:
                with self.outbox.unit_of_work(cause=received, claim=claim) as uow:
                    duplicates = self._handle(uow, [received])
                self._duplicates += duplicates
                done.append(received)
            except Exception as exc:  # noqa: BLE001 - a failing handler must not stop the loop
                log.warning(
                    "consumer %s: %s event=%s correlation=%s failed: %r",
                    self.group,
                    received.envelope.type,
                    received.envelope.id,
                    received.envelope.correlation_id,
                    exc,
                    extra=log_fields(received.envelope),
                )
                failed.append((received, exc))
        return done, failed

    def _handle(self, uow: UnitOfWork, work: list[Received[Any]]) -> int:
        """Run the handlers of the events not seen before; return how many were duplicates."""
        seen = already_processed(uow.conn, self._inbox, self.group, {r.envelope.id for r in work})
        fresh: list[str] = []
        duplicates = 0
        for received in work:
            envelope = received.envelope
            if envelope.id in seen:
                log.debug("%s: duplicate %s event=%s skipped", self.group, envelope.type, envelope.id)
                duplicates += 1
                continue
            seen.add(envelope.id)
            uow.cause = received
            with event_context(envelope), tracing.handling(envelope, self.group):  # logs and spans name it
                self.handlers[envelope.type](received, uow)
                fresh.append(envelope.id)
                log.debug(
                    "%s: handled %s event=%s correlation=%s",
                    self.group,
                    envelope.type,
                    envelope.id,
                    envelope.correlation_id,
                )
        uow.cause = None
        record_processed(uow.conn, self._inbox, self.group, fresh)
        return duplicates

    def _after_failure(self, received: Received[Any], fields: dict[bytes, bytes], error: Exception) -> None:
        deliveries = self._deliveries(received.stream, received.entry_id)
        if deliveries >= self.settings.max_deliveries:
            self._dead_letter(received.stream, received.entry_id, fields, repr(error), deliveries=deliveries)

    def _deliveries(self, stream: str, entry_id: str) -> int:
        pending = self.client.xpending_range(stream, self.group, min=entry_id, max=entry_id, count=1)
        return int(pending[0]["times_delivered"]) if pending else 0

    def _dead_letter(self, stream: str, entry_id: str, fields: dict[bytes, bytes], error: str, deliveries: int) -> None:
        log.error(
            "consumer %s: entry %s on %s dead-lettered after %d deliveries", self.group, entry_id, stream, deliveries
        )
        metrics.dead_lettered(self.group, as_text(fields.get(TYPE_FIELD, b"")))
        dead_letter(
            self.client,
            stream=stream,
            entry_id=entry_id,
            group=self.group,
            fields=fields,
            error=error,
            deliveries=deliveries,
        )

    def _read(self, last_id: str, block_ms: int | None) -> Entries:
        if not self.streams:  # a service that only publishes: just keep the ticks going
            time.sleep((block_ms or 0) / 1000)
            return []
        reply = self.client.xreadgroup(
            self.group,
            self.name,
            {stream: last_id for stream in self.streams},
            count=self.settings.batch_size,
            block=block_ms,
        )
        return [(as_text(stream), items) for stream, items in cast(list[Any], reply or [])]

    def _block_ms(self) -> int:
        block = self.settings.block_ms
        now = time.monotonic()
        if self.ticks:
            block = min(block, max(1, int((min(self._tick_due) - now) * 1000)))
        if self._pending_due is not None:
            block = min(block, max(1, int((self._pending_due - now) * 1000)))
        return block

    def _run_due_ticks(self) -> None:
        now = time.monotonic()
        for index, tick in enumerate(self.ticks):
            if now < self._tick_due[index]:
                continue
            self._tick_due[index] = now + tick.interval_s
            try:
                tick.run()
            except Exception:
                log.exception("consumer %s: tick %s failed", self.group, getattr(tick.run, "__name__", tick.run))

    def _wait(self, stop: threading.Event, backoff: Backoff, exc: Exception) -> None:
        # Whatever was read before the error (a batch committed but not acked, say) is read
        # back from the pending list first, rather than after ``claim_idle_ms``.
        self._pending_due = 0.0
        delay = backoff.next_delay()
        log.warning("consumer %s: %s; retrying in %.2fs", self.group, exc, delay)
        stop.wait(delay)

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run the consumer in a daemon thread (the gateway's projector does)."""
        thread = threading.Thread(target=self.run, args=(stop,), name=f"consumer-{self.group}", daemon=True)
        thread.start()
        return thread
