"""Tracing: off unless configured, and the envelope's traceparent validated like every other field."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import ValidationError

from tests.workers.eventing.support import Events, Node, new_envelope
from workers.eventing import Envelope, tracing
from workers.eventing.settings import Settings


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = tracing.provider("test")
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracing.install(provider)
    try:
        yield spans
    finally:
        tracing.install(None)


def test_tracing_is_off_without_an_otlp_endpoint(sqlite_node: Node) -> None:
    assert tracing.setup_tracing("orders", Settings.from_env({})) is False
    assert not tracing.enabled() and tracing.current_traceparent() is None

    [published] = sqlite_node.publish(1)

    assert "traceparent" not in json.loads(published.payload)


def test_an_otlp_endpoint_turns_tracing_on() -> None:
    try:
        assert tracing.setup_tracing("orders", Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}))
        assert tracing.enabled()
    finally:
        tracing.install(None)


def test_an_event_published_in_a_span_carries_it(exporter: InMemorySpanExporter, sqlite_node: Node) -> None:
    with tracing.order_root("order-1", "checkout"):
        [published] = sqlite_node.publish(1)

    [checkout] = exporter.get_finished_spans()
    assert checkout.context is not None
    trace_id, span_id = tracing.root_ids("order-1")
    assert (checkout.context.trace_id, checkout.context.span_id) == (trace_id, span_id)
    assert published.envelope().traceparent == f"00-{trace_id:032x}-{span_id:016x}-01"


@pytest.mark.parametrize("traceparent", ["", "00-abc-def-01", "01-" + "0" * 32 + "-" + "0" * 16 + "-01x"])
def test_a_malformed_traceparent_is_refused(events: Events, traceparent: str) -> None:
    envelope = new_envelope(events.happened(n=1))

    with pytest.raises(ValidationError):
        Envelope.model_validate({**envelope.model_dump(), "traceparent": traceparent})


def test_the_same_order_always_has_the_same_trace() -> None:
    assert tracing.root_ids("order-1") == tracing.root_ids("order-1") != tracing.root_ids("order-2")
