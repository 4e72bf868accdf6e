"""The JSON shapes of ``/api/ops/*`` (DESIGN.md's contract), as pydantic models.

The routes build their answers through these models and the OpenAPI document takes its
schemas from them, so the shape is written down once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Consumer(BaseModel):
    name: str
    pending: int = Field(description="entries delivered to this consumer and not yet acked")
    idle_ms: int = Field(description="ms since this consumer last read or claimed")


class Group(BaseModel):
    name: str
    lag: int | None = Field(description="entries not yet delivered to the group; null when Redis cannot tell")
    pending: int = Field(description="entries delivered and not yet acked")
    oldest_pending_ms: int | None = Field(description="age of the oldest pending entry (from its id)")
    last_delivered_id: str
    consumers: list[Consumer]


class Stream(BaseModel):
    name: str
    length: int
    first_id: str | None
    last_id: str | None
    removed: int = Field(description="entries trimmed or deleted from this stream so far")
    trimmed_before: str | None = Field(description="the trim point: entries before this id are gone")
    groups: list[Group]


class Replica(BaseModel):
    consumer: str
    outbox_backlog: int
    heartbeat_age_s: float


class Service(BaseModel):
    name: str
    outbox_backlog: int | None = Field(description="unsent outbox rows, from the newest heartbeat")
    oldest_unsent_age_s: float | None = Field(description="age of the oldest unsent outbox row")
    heartbeat_age_s: float | None = Field(description="seconds since the newest heartbeat; null: never heard from")
    replicas: list[Replica]


class OpsStatus(BaseModel):
    streams: list[Stream]
    services: list[Service]
    dead_letters: int = Field(description="entries on the dlq stream")


class DeadLetter(BaseModel):
    id: str = Field(description="the entry id on the dlq stream")
    stream: str
    entry_id: str
    group: str
    error: str
    deliveries: int
    event_type: str
    failed_at: float | None


class DeadLetters(BaseModel):
    dead_letters: list[DeadLetter]


class DeadLetterAction(BaseModel):
    id: str
    action: Literal["retry", "discard"]
    stream: str
    new_entry_id: str | None = Field(description="the retried event's new entry id on its stream")
