"""The relay: publishes a service's outbox rows to their streams, in order.

It runs as a thread in every service process, for what its process does not publish
itself: a consumer sends its batch's rows with its ``XACK`` (see ``Claim``), and the
relay takes the rest: commits outside a consumer (timers, the gateway's requests),
rows left by a crash between commit and publish, rows written while Redis was away.
A commit that leaves rows to it wakes it at once; it also polls, so nothing is
stranded by a missed wake-up or by another replica's commit. While Redis is away rows
simply wait, and go out in order when it is back. A row is marked sent only after its
``XADD`` succeeded: a crash in between publishes it twice, which the consumers'
inboxes absorb.

Replicas of a service share its database; a lease row lets one relay at a time
publish, so they do not interleave or double every event.

With ``settle_s`` the relay leaves rows younger than that to the process that wrote
them, which publishes them itself right after its commit (``after_commit``): the
relay is then only the safety net, for rows that process could not publish.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from workers.eventing import metrics
from workers.eventing.backoff import Backoff
from workers.eventing.outbox import Outbox
from workers.eventing.publishing import add_entries
from workers.eventing.redis_client import TRANSIENT_ERRORS
from workers.eventing.retention import Housekeeping, RetentionPolicy
from workers.eventing.tables import backbone_tables

log = logging.getLogger(__name__)

RETRYABLE: tuple[type[Exception], ...] = (*TRANSIENT_ERRORS, SQLAlchemyError)

LEASE_NAME = "outbox-relay"


class Relay:
    """Moves outbox rows to Redis Streams with pipelined ``XADD``."""

    def __init__(
        self,
        outbox: Outbox,
        client: redis.Redis,
        *,
        owner: str,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        lease_ttl: float = 10.0,
        retention: RetentionPolicy | None = None,
        settle_s: float = 0.0,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.owner = owner
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.lease_ttl = lease_ttl
        self.settle_s = settle_s
        self.housekeeping = Housekeeping(outbox, client, retention or RetentionPolicy())
        self._lease = backbone_tables(outbox.db.metadata).lease
        self._lease_until = 0.0
        self._wake = threading.Event()
        outbox.on_leftover(self.wake)

    def wake(self) -> None:
        """Ask the relay to look at the outbox now."""
        self._wake.set()

    def publish_pending(self) -> int:
        """Publish one batch of unsent rows; return how many went out."""
        if not self._hold_lease():
            return 0
        # Read, XADD and mark under the outbox's lock: a consumer of this process that is
        # publishing its own rows is done with them, so they are not read back as unsent.
        with self.outbox.publishing:
            with self.outbox.db.snapshot() as conn:
                before = time.time() - self.settle_s if self.settle_s else None
                rows = self.outbox.unsent(conn, self.batch_size, before=before)
            if not rows:
                return 0
            pipe = self.client.pipeline(transaction=False)
            add_entries(pipe, rows)
            started = time.perf_counter()
            pipe.execute()
            metrics.relay_published(self.outbox.source, len(rows), time.perf_counter() - started)
            with self.outbox.db.transaction(durable=False) as conn:
                self.outbox.mark_sent(conn, [row.seq for row in rows])
        log.debug("relay %s: published %d rows", self.outbox.source, len(rows))
        return len(rows)

    def drain(self) -> int:
        """Publish until the outbox is empty (or this relay is not the leader)."""
        total = 0
        while sent := self.publish_pending():
            total += sent
        return total

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop`` is set, surviving Redis and database outages."""
        backoff = Backoff()
        while not stop.is_set():
            self._wake.clear()
            try:
                sent = self.publish_pending()
                self._clean_up_if_due()
            except RETRYABLE as exc:
                delay = backoff.next_delay()
                log.warning("relay %s: %s; retrying in %.2fs", self.outbox.source, exc, delay)
                stop.wait(delay)
                continue
            backoff.reset()
            if sent < self.batch_size:
                self._wake.wait(self.poll_interval)

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run the relay in a daemon thread."""
        thread = threading.Thread(target=self.run, args=(stop,), name=f"relay-{self.outbox.source}", daemon=True)
        thread.start()
        return thread

    def _hold_lease(self) -> bool:
        now = time.time()
        if now < self._lease_until - self.lease_ttl / 2:
            return True
        expires = now + self.lease_ttl
        t = self._lease
        with self.outbox.db.transaction() as conn:
            taken = conn.execute(
                update(t)
                .where(t.c.name == LEASE_NAME, (t.c.owner == self.owner) | (t.c.expires_at < now))
                .values(owner=self.owner, expires_at=expires)
            ).rowcount
        if not taken:
            try:
                with self.outbox.db.transaction() as conn:
                    conn.execute(insert(t).values(name=LEASE_NAME, owner=self.owner, expires_at=expires))
            except IntegrityError:
                self._lease_until = 0.0
                return False
        self._lease_until = expires
        return True

    def _clean_up_if_due(self) -> None:
        # Only the relay holding the lease keeps house: one per service, however many replicas.
        if time.time() < self._lease_until:
            self.housekeeping.run_if_due()
