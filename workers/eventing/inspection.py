"""What an operator looks at, read from Redis alone: streams, consumer groups, services.

Shared by the ops CLI (``python -m workers.ops``) and the gateway's ops console,
so both show the same figures computed the same way. Services are seen through their
heartbeats (``workers.eventing.heartbeat``): nobody opens another service's database.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from workers.eventing.heartbeat import read_heartbeats
from workers.eventing.redis_client import as_text


@dataclass(frozen=True, slots=True)
class ConsumerFigures:
    name: str
    pending: int
    idle_ms: int


@dataclass(frozen=True, slots=True)
class GroupFigures:
    name: str
    lag: int | None  # entries not yet delivered to the group (None when Redis cannot tell)
    pending: int  # delivered, not acked
    oldest_pending_ms: int | None  # age of the oldest pending entry, from its id
    last_delivered_id: str
    consumers: tuple[ConsumerFigures, ...]


@dataclass(frozen=True, slots=True)
class StreamFigures:
    name: str
    length: int
    first_id: str | None
    last_id: str | None
    # Entries removed from the front (trimmed or deleted): everything before ``first_id``.
    removed: int
    trimmed_before: str | None
    groups: tuple[GroupFigures, ...]


@dataclass(frozen=True, slots=True)
class ReplicaFigures:
    consumer: str
    outbox_backlog: int
    heartbeat_age_s: float


@dataclass(frozen=True, slots=True)
class ServiceFigures:
    name: str
    outbox_backlog: int | None  # from the newest heartbeat; None: never heard from
    oldest_unsent_age_s: float | None
    heartbeat_age_s: float | None
    replicas: tuple[ReplicaFigures, ...]


def server_ms(client: redis.Redis) -> int:
    """Redis's own clock, in ms: stream ids are stamped by it."""
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def id_ms(entry_id: str) -> int:
    return int(entry_id.partition("-")[0])


def stream_figures(client: redis.Redis, streams: Iterable[str]) -> list[StreamFigures]:
    """Length, ends, trim point and groups of every stream that exists (in the order given)."""
    now_ms = server_ms(client)
    figures: list[StreamFigures] = []
    for stream in streams:
        try:
            info: dict[str, Any] = client.xinfo_stream(stream)
        except redis.ResponseError:  # no such stream yet
            continue
        groups = tuple(_group(client, stream, g, now_ms) for g in client.xinfo_groups(stream))
        length = int(info["length"])
        removed = max(0, int(info.get("entries-added") or length) - length)
        first_id = _entry_id(info.get("first-entry"))
        figures.append(
            StreamFigures(
                name=stream,
                length=length,
                first_id=first_id,
                last_id=_entry_id(info.get("last-entry")),
                removed=removed,
                trimmed_before=first_id if removed else None,
                groups=groups,
            )
        )
    return figures


def service_figures(client: redis.Redis, services: Iterable[str], now: float | None = None) -> list[ServiceFigures]:
    """Each service as its replicas' heartbeats describe it (the newest heartbeat speaks for its outbox)."""
    now = time.time() if now is None else now
    figures: list[ServiceFigures] = []
    for service, beats in read_heartbeats(client, services).items():
        replicas = tuple(ReplicaFigures(b.consumer, b.outbox_backlog, max(0.0, now - b.at)) for b in beats)
        newest = beats[0] if beats else None
        figures.append(
            ServiceFigures(
                name=service,
                outbox_backlog=newest.outbox_backlog if newest else None,
                oldest_unsent_age_s=newest.oldest_unsent_age_s if newest else None,
                heartbeat_age_s=replicas[0].heartbeat_age_s if replicas else None,
                replicas=replicas,
            )
        )
    return figures


def _group(client: redis.Redis, stream: str, info: Mapping[str, Any], now_ms: int) -> GroupFigures:
    name = as_text(info["name"])
    pending = int(info.get("pending") or 0)
    oldest: int | None = None
    if pending:
        summary: dict[str, Any] = client.xpending(stream, name)
        if summary.get("min"):
            oldest = max(0, now_ms - id_ms(as_text(summary["min"])))
    consumers = tuple(
        ConsumerFigures(as_text(c["name"]), int(c.get("pending") or 0), int(c.get("idle") or 0))
        for c in client.xinfo_consumers(stream, name)
    )
    lag = info.get("lag")
    return GroupFigures(
        name=name,
        lag=None if lag is None else int(lag),
        pending=pending,
        oldest_pending_ms=oldest,
        last_delivered_id=as_text(info.get("last-delivered-id") or b"0-0"),
        consumers=consumers,
    )


def _entry_id(entry: Any) -> str | None:
    if not entry:
        return None
    return as_text(entry[0])
