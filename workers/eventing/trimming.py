"""Stream trimming: behind the slowest consumer group, and never inside the history window.

For each group, the first entry it still needs is its oldest pending entry (read but not
acked: it may be handled again) or, with nothing pending, the entry after its last
delivered one. A stream is trimmed with ``XTRIM MINID`` to the oldest of those points
and of the window's start (``STREAM_KEEP_S`` ago, by Redis's clock, which made the ids),
so it never loses an entry some group has not processed, and always keeps the window
for live pages' replay and for debugging. A stream without groups (one only ``XREAD``)
keeps the window alone. Redis 7.0 has no ``XTRIM ... ACKED``, hence the computation.

It is safe to run from several processes at once: each plan is computed from the
groups' live state, which only moves forward, and ``MINID`` never puts anything back.
The group state is read before the pending summaries, so a group that advances in
between only makes the plan more careful.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import redis

from workers.eventing.redis_client import as_text


@dataclass(frozen=True, slots=True)
class GroupHold:
    """Where one consumer group stands on a stream."""

    group: str
    needs_from: str  # the first entry it has not finished with; every entry before it is processed
    pending: int
    lag: int | None
    reason: str  # "oldest pending" or "last delivered"


@dataclass(frozen=True, slots=True)
class TrimPlan:
    """What trimming one stream would do, and why."""

    stream: str
    length: int
    first_id: str | None
    window_from: str  # entries before this are older than the history window
    trim_before: str  # the ``MINID``: every entry before it may go
    groups: tuple[GroupHold, ...]

    @property
    def holder(self) -> GroupHold | None:
        """The group that keeps entries older than the window on the stream, if one does."""
        held = [g for g in self.groups if _key(g.needs_from) < _key(self.window_from)]
        return min(held, key=lambda g: _key(g.needs_from)) if held else None

    def reason(self) -> str:
        holder = self.holder
        if holder is None:
            return "everything older than the history window"
        return f"held back by group {holder.group} ({holder.reason} {holder.needs_from})"


def plan_trim(client: redis.Redis, stream: str, keep_s: float) -> TrimPlan:
    """The trim of ``stream`` that keeps every group's unprocessed entries and ``keep_s`` of history."""
    seconds, micros = client.time()
    now_ms = seconds * 1000 + micros // 1000
    window_from = f"{max(now_ms - int(keep_s * 1000), 0)}-0"
    groups = tuple(_holds(client, stream))
    trim_before = min([window_from, *(g.needs_from for g in groups)], key=_key)
    length = int(client.xlen(stream))
    first = cast(list[Any], client.xrange(stream, count=1))
    first_id = as_text(first[0][0]) if first else None
    return TrimPlan(stream, length, first_id, window_from, trim_before, groups)


def trim(client: redis.Redis, plan: TrimPlan) -> int:
    """Carry out a plan; returns how many entries went."""
    if plan.first_id is None or _key(plan.first_id) >= _key(plan.trim_before):
        return 0
    return int(client.xtrim(plan.stream, minid=plan.trim_before, approximate=False))


def count_before(client: redis.Redis, stream: str, before: str, start: str = "-", cap: int = 1_000_000) -> int:
    """How many entries from ``start`` lie before ``before`` (counted up to ``cap``), for operators."""
    counted, page = 0, 1000
    lower = start
    while counted < cap:
        entries = cast(list[Any], client.xrange(stream, min=lower, max=f"({before}", count=page))
        counted += len(entries)
        if len(entries) < page:
            break
        lower = f"({as_text(entries[-1][0])}"
    return min(counted, cap)


def ms_of(entry_id: str) -> int:
    """The Redis time (ms since the epoch) at which an entry id was made."""
    return _key(entry_id)[0]


def _holds(client: redis.Redis, stream: str) -> list[GroupHold]:
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError as exc:
        if "no such key" in str(exc).lower():
            return []
        raise
    holds: list[GroupHold] = []
    for group in groups:
        name = as_text(group["name"])
        last = as_text(group["last-delivered-id"])
        lag = None if group.get("lag") is None else int(group["lag"])
        pending = int(group["pending"])
        oldest: str | None = None
        if pending:
            summary = client.xpending(stream, name)
            if summary.get("min") is not None and int(summary["pending"]):
                oldest = as_text(summary["min"])
        if oldest is not None and _key(oldest) <= _key(last):
            holds.append(GroupHold(name, oldest, pending, lag, "oldest pending"))
        else:
            holds.append(GroupHold(name, _successor(last), pending, lag, "last delivered"))
    return holds


def _key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _successor(entry_id: str) -> str:
    ms, seq = _key(entry_id)
    return f"{ms}-{seq + 1}"
