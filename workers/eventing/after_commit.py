"""Publishing a commit's events at once, rather than at the relay's next poll.

A process that has just committed a unit of work holds its events already: it
``XADD``s them itself (one pipelined round trip for whatever committed meanwhile),
then marks their outbox rows sent. The relay stays as the safety net: given
``settle_s=SETTLE_S`` it leaves rows younger than that to the process that wrote
them, and publishes whatever is older (a crash between commit and ``XADD``, Redis
away, a mark that failed).

The outbox guarantees hold: a row is marked sent only after its ``XADD`` succeeded; a
failed ``XADD`` leaves the row unsent for the relay; a crash between ``XADD`` and mark
publishes it twice, which the consumers' inboxes absorb. Order: after a failure the
publisher leaves every row to the relay until the relay has caught up, so fresh rows
do not overtake the backlog (at most rows of the last ``SETTLE_S``, which belong to
other aggregates: consumers order each aggregate by its version).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

import redis.asyncio as aioredis
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from workers.eventing.outbox import Outbox, Published
from workers.eventing.publishing import entry_fields

log = logging.getLogger(__name__)

# How long the relay leaves a fresh row to the process that wrote it. Marking sent
# normally follows the commit within milliseconds; this is far beyond that even
# under load, and is the extra delay of a row the writer could not publish.
SETTLE_S = 2.0
_MARK_CHUNK = 500
STOP_TIMEOUT_S = 3.0


def mark_published(outbox: Outbox, event_ids: Sequence[str]) -> None:
    """Mark these events' outbox rows sent (one transaction); call only after their XADD succeeded.

    Without an fsync, as the relay's marks: a mark lost to a power cut publishes the row again.
    """
    t, now = outbox.table, time.time()
    with outbox.db.transaction(durable=False) as conn:
        for start in range(0, len(event_ids), _MARK_CHUNK):
            chunk = list(event_ids[start : start + _MARK_CHUNK])
            conn.execute(update(t).where(t.c.event_id.in_(chunk), t.c.sent_at.is_(None)).values(sent_at=now))


def relay_caught_up(outbox: Outbox, settle_s: float = SETTLE_S) -> bool:
    """True when no row older than ``settle_s`` waits: whatever the relay had to publish is out."""
    with outbox.db.snapshot() as conn:
        return not outbox.unsent(conn, 1, before=time.time() - settle_s)


class AfterCommitPublisher:
    """Publishes every commit of ``outbox`` from an asyncio task, right after the commit.

    Commits may happen in any thread (a thread pool, as the web process runs its
    transactions); the events are handed to the event loop, which ``XADD``s them with
    the async client and marks them sent in a thread, in batches.
    """

    def __init__(self, outbox: Outbox, client: aioredis.Redis, *, settle_s: float = SETTLE_S) -> None:
        self.outbox = outbox
        self.client = client
        self.settle_s = settle_s
        self.published = 0  # events this publisher XADDed (for tests and operators)
        self._queue: list[Published] = []
        self._sent: list[str] = []
        self._deferring_since: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queued, self._marks = asyncio.Event(), asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        outbox.on_committed_events(self._committed)

    @property
    def deferring(self) -> bool:
        """True while every row is left to the relay (after a failed XADD, or a backlog at start)."""
        return self._deferring_since is not None

    async def start(self) -> None:
        """Start publishing; rows left from before (a crash) go out through the relay first."""
        self._loop = asyncio.get_running_loop()
        if await asyncio.to_thread(self.outbox.backlog):
            self._defer("rows from before the start wait")
        self._tasks = [asyncio.create_task(self._publish_loop()), asyncio.create_task(self._mark_loop())]

    async def stop(self) -> None:
        """Stop; what was published is marked sent, what was not is left to the relay."""
        # The flag as well as the cancel: a cancellation that lands inside redis-py's own
        # timeout handling can be swallowed (Python 3.11), and a shutdown must not hang on it.
        self._stopping = True
        self._queued.set()
        self._marks.set()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
        self._loop = None
        if self._sent:
            with contextlib.suppress(SQLAlchemyError):
                await asyncio.to_thread(mark_published, self.outbox, self._sent)

    def _committed(self, events: Sequence[Published]) -> None:
        # Called in the committing thread: never raise there, the commit is done.
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: the relay has them
            loop.call_soon_threadsafe(self._submit, list(events))

    def _submit(self, events: list[Published]) -> None:
        self._queue.extend(events)
        self._queued.set()

    async def _publish_loop(self) -> None:
        while not self._stopping:
            await self._queued.wait()
            self._queued.clear()
            batch, self._queue = self._queue, []
            if not batch or self.deferring:
                continue
            try:
                pipe = self.client.pipeline(transaction=False)
                for event in batch:  # the fields exactly as the relay writes them
                    stream = self.outbox.registry.stream_of(event.type)
                    pipe.xadd(stream, entry_fields(event.type, event.payload))
                await pipe.execute()
            except Exception as exc:  # noqa: BLE001 - any failure: the relay publishes these rows
                self._defer(f"{len(batch)} events not published ({exc!r})")
                continue
            self.published += len(batch)
            self._sent.extend(event.id for event in batch)
            self._marks.set()

    async def _mark_loop(self) -> None:
        while not self._stopping:
            if self.deferring:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._marks.wait(), timeout=self.settle_s / 4)
            else:
                await self._marks.wait()
            self._marks.clear()
            ids, self._sent = self._sent, []
            try:
                if ids:
                    await asyncio.to_thread(mark_published, self.outbox, ids)
                if self._resumable() and await asyncio.to_thread(relay_caught_up, self.outbox, self.settle_s):
                    self._deferring_since = None
                    log.info("%s: the relay has caught up; publishing after each commit again", self.outbox.source)
            except Exception as exc:  # noqa: BLE001 - the loop must survive; the relay is the safety net
                # Not marked: the relay publishes those rows again once they are old enough.
                log.warning("%s: marking %d published events sent failed: %r", self.outbox.source, len(ids), exc)
                await asyncio.sleep(self.settle_s / 4)

    def _resumable(self) -> bool:
        since = self._deferring_since
        # Rows committed before the deferral began are older than settle_s after this long.
        return since is not None and time.monotonic() - since > self.settle_s

    def _defer(self, why: str) -> None:
        if self._deferring_since is None:
            log.warning("%s: %s; leaving rows to the relay until it has caught up", self.outbox.source, why)
        self._deferring_since = time.monotonic()
        self._marks.set()
