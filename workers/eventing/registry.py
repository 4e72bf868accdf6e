"""Which event types exist, on which stream, with which data model.

Encoding is the publishing side's validation: an event's data is checked against the
model registered for its type before its JSON exists (``payload``, which every outbox
writes with). Decoding is the receiving side's: a stream entry either becomes a
``Received`` with typed data, or raises ``UnknownEventType`` (skip it) or
``MalformedEvent`` (dead-letter it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, ValidationError, create_model

from workers.eventing.envelope import Envelope, EventData

D = TypeVar("D", bound=EventData)

TYPE_FIELD = b"type"
EVENT_FIELD = b"event"


class MalformedEvent(ValueError):
    """The entry cannot be read as an event of its declared type."""


class UnknownEventType(LookupError):
    """The entry is well formed but of a type this registry does not know."""


@dataclass(frozen=True, slots=True)
class Received(Generic[D]):
    """An event as a consumer sees it: envelope, typed data, and where it came from."""

    envelope: Envelope
    data: D
    stream: str
    entry_id: str


class Registry:
    """A set of event data models, looked up by their ``TYPE``."""

    def __init__(self, models: Iterable[type[EventData]] = ()) -> None:
        self._models: dict[str, type[EventData]] = {}
        self._envelopes: dict[bytes, type[Envelope]] = {}
        for model in models:
            self.register(model)

    def register(self, model: type[EventData]) -> type[EventData]:
        """Add a model; a type name may be registered only once."""
        if model.TYPE in self._models and self._models[model.TYPE] is not model:
            raise ValueError(f"event type {model.TYPE!r} registered twice")
        self._models[model.TYPE] = model
        # An envelope whose ``data`` is the model itself: one pass validates both, on
        # either side, instead of parsing into a dict and validating that again.
        self._envelopes[model.TYPE.encode()] = create_model(
            f"{model.__name__}Envelope", __base__=Envelope, data=(model, ...)
        )
        return model

    def envelope_model(self, event_type: str) -> type[Envelope]:
        """The envelope class whose ``data`` is this type's model."""
        try:
            return self._envelopes[event_type.encode()]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def model(self, event_type: str) -> type[EventData]:
        try:
            return self._models[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def stream_of(self, event_type: str) -> str:
        return self.model(event_type).STREAM

    @property
    def types(self) -> Mapping[str, type[EventData]]:
        return dict(self._models)

    @property
    def streams(self) -> tuple[str, ...]:
        """Every stream an event type of this registry lives on, in the order they were first registered."""
        return tuple(dict.fromkeys(model.STREAM for model in self._models.values()))

    def payload(self, head: Mapping[str, Any], data: EventData | Mapping[str, Any]) -> str:
        """The event's JSON: the envelope fields in ``head`` and ``data``, valid for ``head["type"]``'s model.

        ``data`` (a model or its fields) is validated once by the registered model's compiled
        validator, whatever class it came as; a ``ValidationError`` means nothing was encoded.
        Nested values already validated as their own models are taken as they are.
        """
        model = self.model(head["type"])
        values = data.__dict__ if isinstance(data, BaseModel) else data
        valid = model.__pydantic_validator__.validate_python(values)
        return orjson.dumps({**head, "data": valid}, default=_fields, option=orjson.OPT_UTC_Z).decode()

    def encode(self, envelope: Envelope) -> dict[bytes, bytes]:
        """The fields of the stream entry for an envelope (its data validated first, as ``payload`` does)."""
        head = envelope.model_dump(mode="json", exclude={"data"})
        return {TYPE_FIELD: envelope.type.encode(), EVENT_FIELD: self.payload(head, envelope.data).encode()}

    def decode(self, stream: str, entry_id: str, fields: Mapping[bytes, bytes]) -> Received[EventData]:
        """Validate a stream entry and return it with typed data."""
        raw = fields.get(EVENT_FIELD)
        if raw is None:
            raise MalformedEvent("entry has no 'event' field")
        typed = self._envelopes.get(fields.get(TYPE_FIELD, b""))
        if typed is not None:
            return self._decode_typed(typed, stream, entry_id, fields[TYPE_FIELD], raw)
        try:
            envelope = Envelope.model_validate_json(raw)
        except ValidationError as exc:
            raise MalformedEvent(f"bad envelope: {_first_error(exc)}") from exc
        model = self.model(envelope.type)
        if envelope.schema_version > model.SCHEMA_VERSION:
            raise MalformedEvent(
                f"{envelope.type} schema_version {envelope.schema_version} is newer than "
                f"{model.SCHEMA_VERSION}, the one this reader knows"
            )
        try:
            data = model.model_validate(envelope.data)
        except ValidationError as exc:
            raise MalformedEvent(f"bad {envelope.type} data: {_first_error(exc)}") from exc
        return Received(envelope=envelope, data=data, stream=stream, entry_id=entry_id)

    def _decode_typed(
        self, typed: type[Envelope], stream: str, entry_id: str, declared: bytes, raw: bytes
    ) -> Received[EventData]:
        try:
            envelope = typed.model_validate_json(raw)
        except ValidationError as exc:
            loc = exc.errors()[0]["loc"]
            if loc and loc[0] == "data":
                raise MalformedEvent(f"bad {declared.decode()} data: {_first_error(exc, skip=1)}") from exc
            raise MalformedEvent(f"bad envelope: {_first_error(exc)}") from exc
        if envelope.type.encode() != declared:
            raise MalformedEvent(f"entry says {declared.decode()!r} but its event is {envelope.type!r}")
        model = self._models[envelope.type]
        if envelope.schema_version > model.SCHEMA_VERSION:
            raise MalformedEvent(
                f"{envelope.type} schema_version {envelope.schema_version} is newer than "
                f"{model.SCHEMA_VERSION}, the one this reader knows"
            )
        data: EventData = envelope.data  # type: ignore[assignment] # the typed envelope's data is the model
        return Received(envelope=envelope, data=data, stream=stream, entry_id=entry_id)


def _fields(value: object) -> dict[str, Any]:
    """A model's fields, for orjson: the data and its nested values are models (pydantic's own dump is slower)."""
    if isinstance(value, BaseModel):
        return value.__dict__
    raise TypeError(f"{type(value).__name__} is not JSON")


def _first_error(exc: ValidationError, skip: int = 0) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"][skip:]) or "(root)"
    return f"{where}: {error['msg']}"
