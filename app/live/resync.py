"""When a socket's cursor fell off a trimmed stream, and what it is sent instead of a replay.

A replay from a cursor older than the stream's first remaining entry could have a hole
(entries trimmed away after the cursor), so the socket sends fresh figures from the read
model, with the position they reflect, and replays from there. The rule, from
``XINFO STREAM``:

- a stream from which nothing was ever removed (``entries-added`` equals ``length``)
  never gives a resync, whatever the cursor;
- a cursor at or after the first remaining entry (``recorded-first-entry-id``: still on
  the stream, or newer) never gets one;
- an emptied stream has no first entry: a cursor older than ``last-generated-id`` gets one.

``max-deleted-entry-id`` would tell exactly where trimming stopped, but Redis 7.0's
``XTRIM`` does not move it, so a cursor older than the first entry is taken as holed
even when the trim ended right at the cursor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from app.read_model.stream_ids import id_key


@dataclass(frozen=True)
class Reload:
    """Fresh figures for a socket whose replay could have a hole, and the positions they reflect."""

    messages: Sequence[str]
    positions: Mapping[str, str]


Reloader = Callable[[], Awaitable[Reload]]


def has_hole(info: Mapping[str, Any], after: str) -> bool:
    """True when a replay after ``after`` could miss trimmed entries (``info``: ``XINFO STREAM``'s reply)."""
    added = info.get("entries-added")  # Redis 7.0 and later
    if added is None or int(added) <= int(info["length"]):
        return False  # nothing was ever removed from it (or this Redis cannot say)
    boundary = info["recorded-first-entry-id"] if int(info["length"]) else info["last-generated-id"]
    return id_key(after) < id_key(_text(boundary))


async def cursors_with_holes(client: aioredis.Redis, cursors: Mapping[str, str | None]) -> list[str]:
    """The streams among ``cursors`` whose cursor is older than what trimming left of them."""
    holed: list[str] = []
    for stream, after in cursors.items():
        if not after:
            continue  # live only: nothing to replay, so nothing to miss
        try:
            info = await client.xinfo_stream(stream)
        except aioredis.ResponseError as exc:
            if "no such key" not in str(exc).lower():
                raise
            continue  # no such stream yet: nothing was trimmed from it
        if has_hole(info, after):
            holed.append(stream)
    return holed


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
