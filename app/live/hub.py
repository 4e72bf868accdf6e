"""One reader per stream per web process, fanned out to that process's sockets.

Readers use plain ``XREAD`` from the last id they saw (not a consumer group): every
web process must see every change. A subscriber is a small mailbox. Mailboxes are
bounded: a socket that falls behind is dropped (its browser reconnects with its
last id and catches up) so it never holds up the others. Mailboxes that coalesce
keep only the newest change per key (a product), so a burst costs one message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import redis.asyncio as aioredis

from app.http.instruments import FANOUT_SECONDS
from app.live.direct import DirectSender
from app.read_model.stream_ids import id_key
from workers.contracts import REGISTRY
from workers.eventing.redis_client import TRANSIENT_ERRORS, connect_async
from workers.eventing.registry import MalformedEvent, UnknownEventType
from workers.eventing.settings import RedisTarget

log = logging.getLogger(__name__)

BLOCK_MS = 1_000
MAILBOX_LIMIT = 256
RETRY_FIRST_S, RETRY_MAX_S = 0.05, 2.0
_RETRYABLE: tuple[type[Exception], ...] = (*TRANSIENT_ERRORS, aioredis.ResponseError)


@dataclass(frozen=True, slots=True)
class Change:
    """One stream entry as live push sees it: where it is and the event in it."""

    stream: str
    entry_id: str
    event: dict[str, Any]
    position: tuple[int, int] = (0, 0)  # the entry id as numbers, parsed once for every socket

    @property
    def type(self) -> str:
        return str(self.event.get("type", ""))

    @property
    def aggregate(self) -> tuple[str, str]:
        """Which thing changed (a product, an order): versions are counted per aggregate."""
        return self.stream, str(self.event.get("aggregate_id", ""))

    @property
    def version(self) -> int:
        version = self.event.get("aggregate_version")
        return version if isinstance(version, int) else 0

    @property
    def data(self) -> dict[str, Any]:
        data = self.event.get("data")
        return data if isinstance(data, dict) else {}


def parse_entry(stream: str, entry_id: bytes | str, fields: dict[bytes, bytes]) -> Change | None:
    """A stream entry as a ``Change``, validated like any consumer validates it.

    None for what is not a valid event of a known type: the consumers dead-letter a
    malformed entry, and a browser must never be shown one either.
    """
    entry = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    try:
        received = REGISTRY.decode(stream, entry, fields)
    except (MalformedEvent, UnknownEventType):
        return None
    return Change(stream, entry, received.envelope.model_dump(mode="json"), id_key(entry))


class Versions:
    """The newest version seen per aggregate, bounded: older snapshots are stale news."""

    def __init__(self, limit: int = 100_000) -> None:
        self._seen: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._limit = limit

    def is_newer(self, change: Change) -> bool:
        """True (and remembered) when ``change`` is newer than anything seen of its aggregate."""
        key, version = change.aggregate, change.version
        seen = self._seen.get(key)
        if seen is not None and version <= seen:
            return False
        self._seen[key] = version
        self._seen.move_to_end(key)
        if len(self._seen) > self._limit:
            self._seen.popitem(last=False)
        return True


@dataclass(eq=False)
class Mailbox:
    """What one socket has yet to send.

    Until the socket's replay is done, changes wait here. Then either a task takes
    them (``take``), or, where the socket can be written to directly, the hub writes
    each change's pre-framed bytes at once (``go_direct``) and nothing waits.

    Two signals, never confused: ``_ready`` says changes wait (``take`` wakes on it),
    ``_behind`` says the socket fell too far behind and must be dropped. A change that
    arrives during the replay only ever sets the first.
    """

    streams: frozenset[str]
    accepts: Callable[[Change], bool] = lambda _change: True
    coalesce_key: Callable[[Change], Hashable] | None = None
    limit: int = MAILBOX_LIMIT
    # While its socket replays, what overflows is still on the stream: the replay reads
    # on for it (``lost_during_replay``) instead of the socket being dropped.
    replaying: bool = False
    _lost: bool = False
    _items: OrderedDict[Hashable, Change] = field(default_factory=OrderedDict)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _behind: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when the hub stops writing to the socket directly: it fell behind, or its
    # connection stopped being as the direct writer expects (then a task takes over).
    _undirected: asyncio.Event = field(default_factory=asyncio.Event)
    _seq: int = 0
    _direct: DirectSender | None = None
    _frame: Callable[[Change], bytes] | None = None
    _skip_through: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def overflowed(self) -> bool:
        """True once the socket fell too far behind: it is to be dropped (and reconnect)."""
        return self._behind.is_set()

    def fall_behind(self) -> None:
        """Give up on this socket: nothing more is queued or written for it."""
        self._items.clear()
        self._behind.set()
        self._ready.set()  # wakes a ``take``, which then hands over nothing
        self._undirected.set()

    def lost_during_replay(self) -> bool:
        """True (once) when changes overflowed while the socket replayed: read on past the replay."""
        lost, self._lost = self._lost, False
        return lost

    def skip_through(self, positions: dict[str, str]) -> None:
        """The replay is done and sent these ids and all before them: drop those, keep the rest."""
        self.replaying = False
        self._skip_through = {stream: id_key(entry_id) for stream, entry_id in positions.items()}
        for key, change in list(self._items.items()):
            if self._replayed(change):
                del self._items[key]
        if not self._items and not self.overflowed:
            self._ready.clear()  # whatever woke it was replayed: nothing waits now

    def _replayed(self, change: Change) -> bool:
        through = self._skip_through.get(change.stream)
        return through is not None and change.position <= through

    def go_direct(self, sender: DirectSender, frame: Callable[[Change], bytes]) -> None:
        """From now on write changes straight to the socket; what waits goes first."""
        if self.overflowed:
            return  # about to be dropped: nothing more is written to it
        waiting = list(self._items.values())
        self._items.clear()
        self._ready.clear()  # nothing waits: a ``take`` from now on is for a fallback only
        self._direct, self._frame = sender, frame
        for change in waiting:
            if self.overflowed:
                break
            if self._direct is None:  # fell back on the way: the rest waits for the task as usual
                self._queue(change)
            else:
                self._write(change)

    async def undirected(self) -> None:
        """Wait until the hub stops writing to the socket directly (see ``overflowed`` for why)."""
        await self._undirected.wait()

    def offer(self, change: Change, frames: dict[Any, bytes] | None = None) -> None:
        """Take a change (``frames``: frames already made for it, shared by the hub's fan-out)."""
        if not self.accepts(change) or (self._skip_through and not self._past_replay(change)):
            return
        if self._direct is not None:
            self._write(change, frames)
        elif not self._behind.is_set():
            self._queue(change)

    def _past_replay(self, change: Change) -> bool:
        if self._replayed(change):
            return False
        # Changes come in stream order: once one is past the replay, all later ones are.
        self._skip_through.pop(change.stream, None)
        return True

    def _queue(self, change: Change) -> None:
        if self.coalesce_key is not None:
            key = self.coalesce_key(change)
            self._items.pop(key, None)  # the newer change replaces and moves to the back
        else:
            self._seq += 1
            key = self._seq
        self._items[key] = change
        if len(self._items) > self.limit:
            if self.replaying:
                self._items.clear()
                self._lost = True
                return
            self.fall_behind()
            return
        self._ready.set()

    def _write(self, change: Change, frames: dict[Any, bytes] | None = None) -> None:
        direct, make = self._direct, self._frame
        assert direct is not None and make is not None
        frame = frames.get(make) if frames is not None else None
        if frame is None:
            frame = make(change)
            if frames is not None:
                frames[make] = frame
        if frame and not direct.write(frame):
            self._direct = None
            if direct.failed:
                # The connection is not as the direct writer expects: hand this change and
                # the ones after it to a task that sends through the ASGI interface.
                self._undirected.set()
                self._queue(change)
            else:
                # Its buffer is full or it is closing: drop it rather than wait for it.
                self.fall_behind()

    async def take(self) -> list[Change]:
        """Wait for changes, then take all of them; empty only once the socket fell behind."""
        while not self._items and not self._behind.is_set():
            self._ready.clear()
            await self._ready.wait()
        changes = list(self._items.values())
        self._items.clear()
        self._ready.clear()
        return changes


class Hub:
    """The web process's stream readers and the mailboxes they fill."""

    def __init__(self, redis_url: str | RedisTarget, streams: Iterable[str]) -> None:
        self.redis_url = redis_url
        self.streams = list(streams)
        self.last_ids: dict[str, str] = {}
        self._mailboxes: set[Mailbox] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._versions = Versions()
        # Set once a stream's reader knows where it starts (the stream's end at start-up).
        self._reading = {stream: asyncio.Event() for stream in self.streams}

    def subscribe(
        self,
        streams: Iterable[str],
        accepts: Callable[[Change], bool] = lambda _change: True,
        coalesce_key: Callable[[Change], Hashable] | None = None,
        limit: int = MAILBOX_LIMIT,
        replaying: bool = False,
    ) -> Mailbox:
        """A mailbox for changes of ``streams`` (``replaying``: its socket replays first)."""
        mailbox = Mailbox(frozenset(streams), accepts, coalesce_key, limit, replaying)
        self._mailboxes.add(mailbox)
        return mailbox

    def unsubscribe(self, mailbox: Mailbox) -> None:
        self._mailboxes.discard(mailbox)

    @property
    def subscribers(self) -> int:
        return len(self._mailboxes)

    def publish(self, change: Change) -> None:
        # A copy of an old event (a redelivery, a retried dead letter) would set every open
        # page back to stale figures: only newer snapshots go out.
        if not self._versions.is_newer(change):
            return
        frames: dict[Any, bytes] = {}  # one frame per kind of feed, made once for every socket
        started = time.perf_counter()
        for mailbox in list(self._mailboxes):
            if change.stream in mailbox.streams:
                try:  # free unless it raises: the fan-out's speed is untouched
                    mailbox.offer(change, frames)
                except Exception:
                    # One broken socket must not cost the others this change.
                    log.exception("live push to one socket failed; dropping that socket")
                    mailbox.fall_behind()
        FANOUT_SECONDS.observe(time.perf_counter() - started)

    def readers_alive(self) -> bool:
        """False when a stream's reader has ended although the hub is not stopping."""
        return self._stopping or not self.dead_readers()

    def dead_readers(self) -> list[str]:
        """The streams whose reader has ended (empty while all follow their streams)."""
        return [task.get_name().removeprefix("hub-") for task in self._tasks if task.done()]

    async def reading(self, streams: Iterable[str], timeout: float) -> bool:
        """Wait until the readers of ``streams`` know where they start; False after ``timeout``.

        A socket must subscribe only then: a reader still looking for the stream's end
        could place it after a change the socket's replay has just missed.
        """
        waits = [self._reading[stream].wait() for stream in streams if stream in self._reading]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except TimeoutError:
            return False
        return True

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._read(stream), name=f"hub-{stream}") for stream in self.streams]

    async def stop(self) -> None:
        # The flag as well as the cancel: a cancellation that lands inside redis-py's own
        # timeout handling can be swallowed (Python 3.11), and shutdown must not hang on it.
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=3)

    async def _read(self, stream: str) -> None:
        """Follow one stream forever, from its end at start-up, surviving Redis restarts and bugs."""
        # Its own client: a blocking read holds a connection, and a broken one is dropped
        # without disturbing the other readers.
        client = connect_async(self.redis_url)
        delay = RETRY_FIRST_S
        loop = asyncio.get_running_loop()
        try:
            while not self._stopping:
                began = loop.time()
                try:
                    await self._follow(client, stream)
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if loop.time() - began > 2 * RETRY_MAX_S:
                        delay = RETRY_FIRST_S  # it had been reading fine: this is a new failure
                    if isinstance(exc, _RETRYABLE):
                        log.warning("live reader %s: %s; retrying in %.2fs", stream, exc, delay)
                    else:
                        # Anything else is a bug, but live push must outlive it: log it whole
                        # and go on from the last change fanned out, so no socket misses one.
                        log.exception("live reader %s failed; restarting from %s", stream, self.last_ids.get(stream))
                # A cancelled or broken blocking read can leave a pooled connection
                # half-used: drop them all and start clean.
                await client.connection_pool.disconnect()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
        finally:
            await client.aclose()

    async def _follow(self, client: aioredis.Redis, stream: str) -> None:
        """Read and fan out until an error; ``last_ids`` moves only past what was fanned out."""
        last_id = self.last_ids.get(stream)
        if last_id is None:
            last_id = await _tail_id(client, stream)
            self.last_ids[stream] = last_id
            self._reading[stream].set()
        while not self._stopping:
            reply = await client.xread({stream: last_id}, block=BLOCK_MS, count=500)
            for _stream, entries in cast(list[Any], reply or []):
                for entry_id, fields in entries:
                    change = parse_entry(stream, entry_id, fields)
                    if change is not None:
                        self.publish(change)
                    last_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    self.last_ids[stream] = last_id


async def _tail_id(client: aioredis.Redis, stream: str) -> str:
    newest = cast(list[Any], await client.xrevrange(stream, count=1))
    if not newest:
        return "0-0"
    entry_id = newest[0][0]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
