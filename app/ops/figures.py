"""The ops console's figures, from Redis alone: the backbone's inspection turned into the contract's JSON."""

from __future__ import annotations

import dataclasses
from typing import Any

import redis

from app.ops import schemas
from workers.contracts import REGISTRY, SERVICES
from workers.eventing.dead_letters import DLQ_STREAM, list_dead_letters
from workers.eventing.inspection import service_figures, stream_figures

# Every stream an event type lives on, and the dead letters: derived from the contracts.
STREAMS: tuple[str, ...] = (*sorted({REGISTRY.stream_of(t) for t in REGISTRY.types}), DLQ_STREAM)
LISTED_DEAD_LETTERS = 100


def status(client: redis.Redis) -> schemas.OpsStatus:
    """``GET /api/ops/status``: every stream with its groups, every service, and the dead-letter count."""
    streams = [dataclasses.asdict(s) for s in stream_figures(client, STREAMS)]
    services = [dataclasses.asdict(s) for s in service_figures(client, SERVICES)]
    dead = next((s["length"] for s in streams if s["name"] == DLQ_STREAM), 0)
    return schemas.OpsStatus.model_validate({"streams": streams, "services": services, "dead_letters": dead})


def dead_letters(client: redis.Redis) -> schemas.DeadLetters:
    """``GET /api/ops/dead-letters``: the oldest dead letters, with their error."""
    letters: list[dict[str, Any]] = [
        {
            "id": letter.dlq_id,
            "stream": letter.stream,
            "entry_id": letter.entry_id,
            "group": letter.group,
            "error": letter.error,
            "deliveries": letter.deliveries,
            "event_type": letter.event_type,
            "failed_at": letter.failed_at,
        }
        for letter in list_dead_letters(client, LISTED_DEAD_LETTERS)
    ]
    return schemas.DeadLetters.model_validate({"dead_letters": letters})
