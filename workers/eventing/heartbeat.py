"""Heartbeats: each running service tells Redis what only it can see.

Every process run by ``run_service`` (each worker replica and the projector) writes,
every ``HEARTBEAT_INTERVAL_S``, its outbox backlog and the age of its oldest unsent row
into the hash ``heartbeats:<service>`` under its consumer name. Operators (the gateway's
ops console, ``python -m workers.ops``) read those hashes and never open
another service's database. A replica that stopped long ago is dropped by the next
heartbeat of its service.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, cast

import redis
from sqlalchemy import func, select

from workers.eventing import metrics
from workers.eventing.outbox import Outbox
from workers.eventing.redis_client import TRANSIENT_ERRORS, as_text

log = logging.getLogger(__name__)

KEY_PREFIX = "heartbeats:"
INTERVAL_S = 5.0
# A replica silent for this long is taken for gone and its field removed.
FORGET_AFTER_S = 3600.0


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One replica's report: its outbox figures and when it sent them (Unix seconds)."""

    service: str
    consumer: str
    outbox_backlog: int
    oldest_unsent_age_s: float | None
    at: float


def key(service: str) -> str:
    return f"{KEY_PREFIX}{service}"


def outbox_figures(outbox: Outbox, now: float | None = None) -> tuple[int, float | None]:
    """The outbox's unsent rows and the age in seconds of the oldest (None when there is none)."""
    t = outbox.table
    with outbox.db.engine.connect() as conn:
        count, oldest = conn.execute(select(func.count(), func.min(t.c.created_at)).where(t.c.sent_at.is_(None))).one()
    now = time.time() if now is None else now
    return int(count or 0), (max(0.0, now - float(oldest)) if oldest is not None else None)


def beat(client: redis.Redis, outbox: Outbox, service: str, consumer: str) -> Heartbeat:
    """Measure and publish one heartbeat; forget replicas of the service silent for too long."""
    now = time.time()
    backlog, oldest = outbox_figures(outbox, now)
    metrics.outbox_observed(service, backlog, oldest)
    heartbeat = Heartbeat(service, consumer, backlog, oldest, now)
    stale = [name for name, other in _read_hash(client, service).items() if now - other.at > FORGET_AFTER_S]
    pipe = client.pipeline(transaction=False)
    pipe.hset(key(service), consumer, json.dumps(asdict(heartbeat)))
    if stale:
        pipe.hdel(key(service), *stale)
    pipe.execute()
    return heartbeat


def read_heartbeats(client: redis.Redis, services: Iterable[str]) -> dict[str, list[Heartbeat]]:
    """Every service's replicas' latest heartbeats, newest first (a service never heard from: [])."""
    names = list(services)
    pipe = client.pipeline(transaction=False)
    for service in names:
        pipe.hgetall(key(service))
    replies = cast(list[Mapping[bytes, bytes]], pipe.execute())
    return {
        service: sorted(_parse_all(service, reply).values(), key=lambda h: h.at, reverse=True)
        for service, reply in zip(names, replies, strict=True)
    }


def start(
    client: redis.Redis, outbox: Outbox, service: str, consumer: str, stop: threading.Event, interval_s: float
) -> threading.Thread:
    """Beat every ``interval_s`` in a daemon thread until ``stop``; Redis or the database away: try next time."""

    def run() -> None:
        while not stop.is_set():
            try:
                beat(client, outbox, service, consumer)
            except TRANSIENT_ERRORS as exc:
                log.debug("heartbeat of %s skipped: %r", service, exc)
            except Exception:
                log.warning("heartbeat of %s failed", service, exc_info=True)
            stop.wait(interval_s)

    thread = threading.Thread(target=run, name=f"heartbeat-{service}", daemon=True)
    thread.start()
    return thread


def _read_hash(client: redis.Redis, service: str) -> dict[str, Heartbeat]:
    return _parse_all(service, cast(Mapping[bytes, bytes], client.hgetall(key(service))))


def _parse_all(service: str, fields: Mapping[bytes, bytes]) -> dict[str, Heartbeat]:
    parsed: dict[str, Heartbeat] = {}
    for name, raw in fields.items():
        try:
            values: dict[str, Any] = json.loads(raw)
            oldest = values.get("oldest_unsent_age_s")
            parsed[as_text(name)] = Heartbeat(
                service=service,
                consumer=as_text(name),
                outbox_backlog=int(values["outbox_backlog"]),
                oldest_unsent_age_s=None if oldest is None else float(oldest),
                at=float(values["at"]),
            )
        except (ValueError, KeyError, TypeError):
            continue  # someone else's junk under our key: not a heartbeat
    return parsed
