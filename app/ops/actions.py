"""Retrying and discarding dead letters, each audited in the gateway's database: who, when, what."""

from __future__ import annotations

import time
from typing import Literal

import redis
from sqlalchemy import insert, select

from app.http.errors import ApiError
from app.ops import schemas
from app.read_model import tables
from app.read_model.stream_ids import is_stream_id
from workers.eventing import Database
from workers.eventing.dead_letters import (
    DeadLetter,
    RedriveExpired,
    discard_dead_letter,
    find_dead_letter,
    retry_dead_letter,
)

Action = Literal["retry", "discard"]


def act(
    client: redis.Redis, db: Database, dlq_id: str, action: Action, actor: str, *, redrive_s: float | None = None
) -> schemas.DeadLetterAction:
    """Retry (put back on its stream) or discard one dead letter, and record who did it.

    A retry of a dead letter older than ``redrive_s`` (``DLQ_REDRIVE_S``) is refused with 409:
    the groups that handled its event may have forgotten it, and would handle it twice.
    """
    letter = find_dead_letter(client, dlq_id) if is_stream_id(dlq_id) else None
    if letter is None:
        raise ApiError(404, f"No dead letter {dlq_id} (already retried or discarded?).")
    try:
        if action == "retry":
            new_entry_id: str | None = retry_dead_letter(client, dlq_id, redrive_s=redrive_s)
        else:
            discard_dead_letter(client, dlq_id)
            new_entry_id = None
    except KeyError:  # someone else took it in between
        raise ApiError(404, f"No dead letter {dlq_id} (already retried or discarded?).") from None
    except RedriveExpired as exc:
        raise ApiError(409, str(exc)) from None
    _audit(db, action, letter, new_entry_id, actor)
    return schemas.DeadLetterAction(id=dlq_id, action=action, stream=letter.stream, new_entry_id=new_entry_id)


def recent(db: Database, limit: int = 20) -> list[dict[str, object]]:
    """The latest audited actions, newest first."""
    audit = tables.ops_audit
    with db.snapshot() as conn:
        rows = conn.execute(select(audit).order_by(audit.c.at.desc(), audit.c.id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]


def _audit(db: Database, action: Action, letter: DeadLetter, new_entry_id: str | None, actor: str) -> None:
    with db.transaction() as conn:
        conn.execute(
            insert(tables.ops_audit).values(
                action=action,
                dlq_id=letter.dlq_id,
                stream=letter.stream,
                entry_id=letter.entry_id,
                group_name=letter.group,
                event_type=letter.event_type,
                new_entry_id=new_entry_id,
                actor=actor,
                at=time.time(),
            )
        )
