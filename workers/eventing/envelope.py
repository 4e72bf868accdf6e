"""The event envelope every message on every stream carries.

A stream entry has two fields: ``type`` (so a reader can skip what it does not know
without parsing) and ``event``, the envelope as JSON. ``data`` is the fat snapshot,
validated against the model registered for ``type``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workers.eventing.ids import uuid7
from workers.eventing.tracing import TRACEPARENT_PATTERN


class EventData(BaseModel):
    """Base of every event's data model; subclasses name their type and stream."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    TYPE: ClassVar[str]
    STREAM: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1


class Envelope(BaseModel):
    """Metadata common to all events, with the event's data as a plain mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=100)
    schema_version: int = Field(ge=1)
    source: str = Field(min_length=1, max_length=50)
    occurred_at: datetime
    aggregate_id: str = Field(min_length=1, max_length=100)
    aggregate_version: int = Field(ge=0)
    correlation_id: str = Field(min_length=1, max_length=100)
    causation_id: str | None = None
    # W3C Trace Context of the span that published the event (workers/eventing/tracing.py).
    traceparent: str | None = Field(default=None, pattern=TRACEPARENT_PATTERN)
    data: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _must_be_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
            raise ValueError("occurred_at must be a UTC timestamp")
        return value

    @classmethod
    def wrap(
        cls,
        data: EventData,
        *,
        source: str,
        aggregate_id: str,
        aggregate_version: int,
        correlation_id: str,
        causation_id: str | None = None,
    ) -> Envelope:
        """Build the envelope of a new event around its data."""
        return cls(
            id=uuid7(),
            type=data.TYPE,
            schema_version=data.SCHEMA_VERSION,
            source=source,
            occurred_at=datetime.now(UTC),
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            correlation_id=correlation_id,
            causation_id=causation_id,
            data=data.model_dump(mode="json"),
        )
