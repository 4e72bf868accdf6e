"""Serving one socket: replay what came after the client's cursor, then go live.

The mailbox is subscribed *before* the replay is read, and live changes at or
before the last replayed id are skipped, so nothing falls in the gap between the
two and nothing is sent twice. A cursor that trimming may have left a hole after
gets a resync first (see ``app.live.resync``): fresh figures, then the replay from
the position they reflect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from app.live.direct import DirectSender, text_frame
from app.live.hub import Change, Hub, Mailbox, Versions, parse_entry
from app.live.resync import Reloader, cursors_with_holes
from workers.eventing.redis_client import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

_REDIS_AWAY: tuple[type[Exception], ...] = (*TRANSIENT_ERRORS, aioredis.ResponseError)
REPLAY_PAGE = 500
CATCH_UP_ROUNDS = 3
# Close codes the htmx WebSocket extension reconnects after.
TRY_AGAIN_LATER = 1013
HUB_START_TIMEOUT_S = 5.0
MAX_CLIENT_MESSAGE = 4096
MAX_CLIENT_MESSAGES_PER_S = 20


@dataclass(frozen=True)
class Feed:
    """What a socket follows and how each change becomes a message (None: send nothing)."""

    cursors: Mapping[str, str | None]
    render: Callable[[Sequence[Change]], Sequence[str]]
    accepts: Callable[[Change], bool] = lambda _change: True
    coalesce_key: Callable[[Change], Hashable] | None = None
    # Fresh figures from the read model for a cursor that fell off a trimmed stream.
    reload: Reloader | None = None


async def serve(websocket: WebSocket, hub: Hub, client: aioredis.Redis, feed: Feed, first: Sequence[str] = ()) -> None:
    """Run an accepted socket until the client leaves, lags too far, or the server stops."""
    if not await hub.reading(feed.cursors.keys(), HUB_START_TIMEOUT_S):
        # Redis is away (or the process is starting): come back from the same cursor later.
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=TRY_AGAIN_LATER, reason="live feed starting; reconnect")
        return
    # Only a socket with a cursor on every stream can re-read what overflows during its replay.
    replaying = all(feed.cursors.values())
    mailbox = hub.subscribe(feed.cursors.keys(), feed.accepts, feed.coalesce_key, replaying=replaying)
    listener = asyncio.create_task(listen(websocket))
    try:
        for message in first:
            await websocket.send_text(message)
        cursors = await _resync(websocket, client, feed)
        replayed = await _replay(websocket, client, feed, cursors)
        for _round in range(CATCH_UP_ROUNDS):
            if not mailbox.lost_during_replay():
                break
            # More came in during the replay than its mailbox holds: all of it is on the
            # stream, after where the replay stopped, so read on from there.
            replayed = await _replay(websocket, client, feed, replayed)
        else:
            if mailbox.lost_during_replay():
                await _drop_laggard(websocket)  # the stream outruns its replay: really behind
                return
        mailbox.skip_through(replayed)
        sender = DirectSender.attach(websocket)
        if sender is not None and isinstance(feed.render, Shared):
            # No await between this and the replay's end: nothing can slip in between.
            mailbox.go_direct(sender, feed.render.frame)
            pusher = asyncio.create_task(_watch(websocket, mailbox, feed))
        else:
            pusher = asyncio.create_task(_push(websocket, mailbox, feed))
        done, pending = await asyncio.wait({listener, pusher}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if not task.cancelled() and (exc := task.exception()) and not isinstance(exc, WebSocketDisconnect):
                log.warning("socket ended with %r", exc)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away mid-replay
    except _REDIS_AWAY as exc:
        # Redis went away mid-replay: the client comes back from its cursor later.
        log.warning("socket replay interrupted: %r", exc)
        await _drop_laggard(websocket)
    finally:
        hub.unsubscribe(mailbox)
        listener.cancel()
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close()


async def _resync(websocket: WebSocket, client: aioredis.Redis, feed: Feed) -> Mapping[str, str | None]:
    """The cursors to replay from: the client's own, or, where trimming may have left a hole
    after one, the read model's positions, once the socket has sent what it reflects."""
    if feed.reload is None or not await cursors_with_holes(client, feed.cursors):
        return feed.cursors
    fresh = await feed.reload()
    for message in fresh.messages:
        await websocket.send_text(message)
    return {**feed.cursors, **fresh.positions}


async def _replay(
    websocket: WebSocket, client: aioredis.Redis, feed: Feed, cursors: Mapping[str, str | None]
) -> dict[str, str]:
    replayed: dict[str, str] = {}
    versions = Versions()  # history in order; a re-added old copy in it is skipped
    for stream, after in cursors.items():
        if not after:
            continue
        # The client has everything up to its cursor: a reader that lags behind the page
        # must not send those changes again, even when there is nothing to replay.
        start = replayed[stream] = after
        while True:
            entries = cast(list[Any], await client.xrange(stream, min=f"({start}", max="+", count=REPLAY_PAGE))
            if not entries:
                break
            changes = [c for e in entries if (c := parse_entry(stream, e[0], e[1])) is not None]
            start = changes[-1].entry_id if changes else _text(entries[-1][0])
            replayed[stream] = start
            fresh = [c for c in changes if feed.accepts(c) and versions.is_newer(c)]
            for message in feed.render(_coalesced(fresh, feed)):
                await websocket.send_text(message)
            if len(entries) < REPLAY_PAGE:
                break
    return replayed


async def _push(websocket: WebSocket, mailbox: Mailbox, feed: Feed) -> None:
    while True:
        changes = await mailbox.take()
        if mailbox.overflowed:
            await _drop_laggard(websocket)
            return
        for message in feed.render(changes):
            await websocket.send_text(message)


async def _watch(websocket: WebSocket, mailbox: Mailbox, feed: Feed) -> None:
    """A socket the hub writes to directly: wait to hear that it fell behind, or fell back."""
    await mailbox.undirected()
    if mailbox.overflowed:
        await _drop_laggard(websocket)
        return
    # Its connection stopped being as the direct writer expects: send through ASGI instead.
    await _push(websocket, mailbox, feed)


async def _drop_laggard(websocket: WebSocket) -> None:
    # Too far behind: let it reconnect from its cursor rather than slow the hub.
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=TRY_AGAIN_LATER, reason="lagging; reconnect")


async def listen(websocket: WebSocket) -> None:
    """Read (and mostly ignore) what the client sends; close on abuse or departure."""
    window_start, count = asyncio.get_running_loop().time(), 0
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        # In bytes, as the limit is meant: 4096 characters of text can be four times that on the wire.
        size = len(text.encode()) if text is not None else len(message.get("bytes") or b"")
        now = asyncio.get_running_loop().time()
        if now - window_start > 1.0:
            window_start, count = now, 0
        count += 1
        if size > MAX_CLIENT_MESSAGE:
            await websocket.close(code=1009, reason="message too big")
            return
        if count > MAX_CLIENT_MESSAGES_PER_S:
            await websocket.close(code=1008, reason="too many messages")
            return


def _coalesced(changes: list[Change], feed: Feed) -> list[Change]:
    if feed.coalesce_key is None:
        return changes
    newest: dict[Hashable, Change] = {}
    for change in changes:
        key = feed.coalesce_key(change)
        newest.pop(key, None)
        newest[key] = change
    return list(newest.values())


Renderer = Callable[[Sequence[Change]], Sequence[str]]


class Shared:
    """A renderer whose output is made once per change, however many sockets send it.

    Entry ids identify a change for good, so they make a safe cache key. ``frame``
    gives one change's messages as ready-to-write WebSocket frames.
    """

    def __init__(self, render: Renderer, size: int = 1024) -> None:
        self._render = render
        self._size = size
        self._texts: dict[tuple[str, ...], Sequence[str]] = {}
        self._frames: dict[tuple[str, str], bytes] = {}

    def __call__(self, changes: Sequence[Change]) -> Sequence[str]:
        key = tuple(f"{c.stream}/{c.entry_id}" for c in changes)
        hit = self._texts.get(key)
        if hit is None:
            hit = self._texts[key] = self._render(changes)
            self._trim(self._texts)
        return hit

    def frame(self, change: Change) -> bytes:
        key = (change.stream, change.entry_id)
        hit = self._frames.get(key)
        if hit is None:
            hit = self._frames[key] = b"".join(text_frame(m.encode()) for m in self._render([change]))
            self._trim(self._frames)
        return hit

    def _trim(self, cache: dict[Any, Any]) -> None:
        if len(cache) > self._size:
            cache.pop(next(iter(cache)))


def shared(render: Renderer) -> Shared:
    return Shared(render)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
