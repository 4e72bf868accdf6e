"""The envelope is validated on both sides: strict fields, UTC timestamps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from tests.workers.eventing.support import event_types
from workers.eventing import Envelope, UnknownEventType


def _fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": "0190b7a0-3c1e-7cc0-8a9e-3f5a0e2b4c6d",
        "type": "test.happened",
        "schema_version": 1,
        "source": "tests",
        "occurred_at": datetime(2024, 7, 1, 12, 0, tzinfo=UTC),
        "aggregate_id": "thing-1",
        "aggregate_version": 1,
        "correlation_id": "thing-1",
        "causation_id": None,
        "data": {"n": 1},
    }
    fields.update(overrides)
    return fields


def test_an_envelope_with_every_field_is_valid() -> None:
    envelope = Envelope(**_fields())
    assert envelope.aggregate_version == 1
    assert envelope.data == {"n": 1}


def test_a_timestamp_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="UTC"):
        Envelope(**_fields(occurred_at=datetime(2024, 7, 1, 12, 0)))


def test_a_timestamp_in_another_time_zone_is_refused() -> None:
    paris = timezone(timedelta(hours=2))
    with pytest.raises(ValidationError, match="UTC"):
        Envelope(**_fields(occurred_at=datetime(2024, 7, 1, 14, 0, tzinfo=paris)))


def test_a_zero_offset_counts_as_utc() -> None:
    envelope = Envelope(**_fields(occurred_at=datetime(2024, 7, 1, 12, 0, tzinfo=timezone(timedelta(0)))))
    assert envelope.occurred_at.utcoffset() == timedelta(0)


def test_a_naive_timestamp_in_json_is_refused() -> None:
    raw = Envelope(**_fields()).model_dump_json().replace("+00:00", "").replace("Z", "")
    with pytest.raises(ValidationError, match="UTC"):
        Envelope.model_validate_json(raw)


def test_fields_the_envelope_does_not_know_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Envelope(**_fields(priority="high"))


@pytest.mark.parametrize("missing", ["id", "type", "occurred_at", "aggregate_id", "correlation_id", "data"])
def test_every_required_field_must_be_there(missing: str) -> None:
    fields = _fields()
    del fields[missing]
    with pytest.raises(ValidationError, match=missing):
        Envelope(**fields)


def test_event_data_refuses_fields_its_model_does_not_know(unique: str) -> None:
    events = event_types(unique)
    with pytest.raises(ValidationError, match="extra"):
        events.happened.model_validate({"n": 1, "colour": "red"})


def test_wrap_fills_in_id_type_version_source_and_time(unique: str) -> None:
    events = event_types(unique)
    before = datetime.now(UTC)
    envelope = Envelope.wrap(
        events.happened(n=7),
        source="tests",
        aggregate_id="thing-7",
        aggregate_version=3,
        correlation_id="order-1",
        causation_id="cause-1",
    )
    assert uuid.UUID(envelope.id).version == 7
    assert (envelope.type, envelope.schema_version, envelope.source) == ("test.happened", 1, "tests")
    assert before <= envelope.occurred_at <= datetime.now(UTC)
    assert (envelope.aggregate_id, envelope.aggregate_version) == ("thing-7", 3)
    assert (envelope.correlation_id, envelope.causation_id) == ("order-1", "cause-1")
    assert envelope.data == {"n": 7}


def test_encoding_validates_the_data_against_its_model(unique: str) -> None:
    events = event_types(unique)
    envelope = Envelope(**_fields(data={"n": "seven"}))
    with pytest.raises(ValidationError, match="n"):
        events.registry.encode(envelope)


def test_encoding_refuses_a_type_the_registry_does_not_know(unique: str) -> None:
    events = event_types(unique)
    with pytest.raises(UnknownEventType):
        events.registry.encode(Envelope(**_fields(type="test.unheard_of")))
