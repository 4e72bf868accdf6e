"""Decoding is the receiving side's validation: typed data, or a clear reason why not."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest

from tests.workers.eventing.support import Happened, event_types, new_envelope
from workers.eventing import EventData, MalformedEvent, Registry, UnknownEventType
from workers.eventing.registry import EVENT_FIELD, TYPE_FIELD


def test_an_encoded_event_decodes_to_its_typed_data(unique: str) -> None:
    events = event_types(unique)
    envelope = new_envelope(events.happened(n=5))
    received = events.registry.decode(events.stream, "1-0", events.registry.encode(envelope))
    assert isinstance(received.data, events.happened)
    assert received.data.n == 5
    assert received.envelope.model_dump(mode="json") == envelope.model_dump(mode="json")
    assert (received.stream, received.entry_id) == (events.stream, "1-0")


def test_an_event_is_encoded_by_the_same_encoder_the_outbox_writes_with(unique: str) -> None:
    events = event_types(unique)
    envelope = new_envelope(events.happened(n=5))
    head = envelope.model_dump(mode="json", exclude={"data"})
    assert events.registry.encode(envelope)[EVENT_FIELD] == events.registry.payload(head, events.happened(n=5)).encode()


def test_the_entry_names_its_type_so_readers_can_skip_without_parsing(unique: str) -> None:
    events = event_types(unique)
    fields = events.registry.encode(new_envelope(events.happened(n=1)))
    assert fields[TYPE_FIELD] == b"test.happened"


def test_an_unknown_type_is_reported_as_unknown(unique: str) -> None:
    events = event_types(unique)
    fields = events.registry.encode(new_envelope(events.happened(n=1)))
    with pytest.raises(UnknownEventType):
        Registry().decode(events.stream, "1-0", fields)


def _malformed_entry(case: str, unique: str) -> dict[bytes, bytes]:
    events = event_types(unique)
    payload = json.loads(new_envelope(events.happened(n=1)).model_dump_json())
    changes: dict[str, object] = {
        "empty field": {"aggregate_id": ""},
        "naive time": {"occurred_at": "2024-07-01T12:00:00"},
        "bad data": {"data": {"n": "seven"}},
        "extra data": {"data": {"n": 1, "extra": True}},
        "newer schema": {"schema_version": 2},
    }
    raw = {"no event": None, "not json": b"{not json", "not utf-8": b"\xff\xfe"}
    if case in raw:
        event = raw[case]
        return {TYPE_FIELD: b"test.happened"} | ({EVENT_FIELD: event} if event is not None else {})
    payload.update(changes[case])
    return {TYPE_FIELD: b"test.happened", EVENT_FIELD: json.dumps(payload).encode()}


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no event", "no 'event' field"),
        ("not json", "bad envelope"),
        ("not utf-8", "bad envelope"),
        ("empty field", "aggregate_id"),
        ("naive time", "UTC"),
        ("bad data", "bad test.happened data: n"),
        ("extra data", "extra"),
        ("newer schema", "newer"),
    ],
)
def test_a_malformed_entry_says_what_is_wrong(case: str, reason: str, unique: str) -> None:
    events = event_types(unique)
    with pytest.raises(MalformedEvent, match=reason):
        events.registry.decode(events.stream, "1-0", _malformed_entry(case, unique))


def test_a_type_name_can_be_registered_once(unique: str) -> None:
    events = event_types(unique)

    class Impostor(EventData):
        TYPE: ClassVar[str] = Happened.TYPE
        STREAM: ClassVar[str] = "elsewhere"

    events.registry.register(events.happened)  # the same model again is fine
    with pytest.raises(ValueError, match="registered twice"):
        events.registry.register(Impostor)


def test_the_registry_knows_each_types_stream(unique: str) -> None:
    events = event_types(unique)
    assert events.registry.stream_of("test.happened") == f"happened-{unique}"
    assert events.registry.stream_of("test.followed") == f"followed-{unique}"
    with pytest.raises(UnknownEventType):
        events.registry.stream_of("test.unheard_of")
