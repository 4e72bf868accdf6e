"""The dead-letter stream: events a consumer group gave up on, with the reason.

An entry keeps the original event bytes, so an operator can read why it failed
and retry it once the cause is fixed. Retrying re-adds the event to its stream;
groups that already processed it skip it through their inbox.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import redis

from workers.eventing.redis_client import as_text
from workers.eventing.registry import EVENT_FIELD, TYPE_FIELD

DLQ_STREAM = "dlq"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    dlq_id: str
    stream: str
    entry_id: str
    group: str
    error: str
    deliveries: int
    event_type: str
    event: bytes
    failed_at: float | None = None


def dead_letter(
    client: redis.Redis,
    *,
    stream: str,
    entry_id: str,
    group: str,
    fields: Mapping[bytes, bytes],
    error: str,
    deliveries: int,
) -> None:
    """Move one entry to the dead-letter stream and ack it, atomically."""
    pipe = client.pipeline(transaction=True)
    pipe.xadd(
        DLQ_STREAM,
        {
            b"stream": stream,
            b"entry_id": entry_id,
            b"group": group,
            b"error": error[:2000],
            b"deliveries": str(deliveries),
            b"failed_at": f"{time.time():.3f}",
            TYPE_FIELD: fields.get(TYPE_FIELD, b""),
            EVENT_FIELD: fields.get(EVENT_FIELD, b""),
        },
    )
    pipe.xack(stream, group, entry_id)
    pipe.execute()


def list_dead_letters(client: redis.Redis, count: int = 100) -> list[DeadLetter]:
    """The oldest dead letters, up to ``count``."""
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(DLQ_STREAM, count=count))
    return [_parse(entry_id, fields) for entry_id, fields in entries]


class RedriveExpired(ValueError):
    """The dead letter is older than the redrive window: groups that handled it may have forgotten it."""


def retry_dead_letter(client: redis.Redis, dlq_id: str, *, redrive_s: float | None = None) -> str:
    """Put a dead letter's event back on its stream and remove it from ``dlq``.

    Returns the new entry id on the original stream. With ``redrive_s`` (``DLQ_REDRIVE_S``),
    an event first published longer ago than that is refused: the groups that did handle
    it skip the copy through their inbox, and their inbox rows last only so long.
    """
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(DLQ_STREAM, min=dlq_id, max=dlq_id))
    if not entries:
        raise KeyError(f"no dead letter {dlq_id}")
    letter = _parse(*entries[0])
    if redrive_s is not None:
        seconds, micros = client.time()
        age_s = seconds + micros / 1e6 - int(letter.entry_id.partition("-")[0]) / 1000
        if age_s > redrive_s:
            raise RedriveExpired(
                f"dead letter {dlq_id} is {age_s:.0f} s old, past the {redrive_s:.0f} s redrive window "
                "(DLQ_REDRIVE_S): groups that handled its event may have forgotten it; replay it by hand"
            )
    pipe = client.pipeline(transaction=True)
    pipe.xadd(letter.stream, {TYPE_FIELD: letter.event_type, EVENT_FIELD: letter.event})
    pipe.xdel(DLQ_STREAM, dlq_id)
    replies: list[Any] = pipe.execute()
    return as_text(replies[0])


def find_dead_letter(client: redis.Redis, dlq_id: str) -> DeadLetter | None:
    """One dead letter by its id on ``dlq``, or None."""
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(DLQ_STREAM, min=dlq_id, max=dlq_id))
    return _parse(*entries[0]) if entries else None


def discard_dead_letter(client: redis.Redis, dlq_id: str) -> DeadLetter:
    """Remove a dead letter for good (its event is not handled again); returns what was removed."""
    letter = find_dead_letter(client, dlq_id)
    if letter is None or not client.xdel(DLQ_STREAM, dlq_id):
        raise KeyError(f"no dead letter {dlq_id}")
    return letter


def _parse(entry_id: bytes | str, fields: Mapping[bytes, bytes]) -> DeadLetter:
    return DeadLetter(
        dlq_id=as_text(entry_id),
        stream=as_text(fields[b"stream"]),
        entry_id=as_text(fields[b"entry_id"]),
        group=as_text(fields[b"group"]),
        error=as_text(fields[b"error"]),
        deliveries=int(fields.get(b"deliveries", b"0")),
        event_type=as_text(fields.get(TYPE_FIELD, b"")),
        event=fields.get(EVENT_FIELD, b""),
        failed_at=float(fields[b"failed_at"]) if fields.get(b"failed_at") else None,
    )
