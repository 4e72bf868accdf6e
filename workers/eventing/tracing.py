"""Tracing with OpenTelemetry: one trace per order, carried from service to service in the envelope.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (``setup_tracing``), and then every
process exports its spans over OTLP/HTTP. Off, nothing here costs more than a check.

How the spans of one order become one trace:
- the gateway's checkout span is the order's root, and its trace id and span id are
  derived from the order id (``order_root``), so any process can find the order's trace
  without being told: the clerk's dispatch starts a span under that root too;
- an event published while a span is current carries it in the envelope's optional
  ``traceparent`` (W3C Trace Context), and the consumer handles it in a span whose
  parent that is; an event published with no span current (a timer, the simulated
  carrier) is handled under its correlation id's root instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from workers.eventing.envelope import Envelope
    from workers.eventing.settings import Settings

TRACEPARENT_PATTERN = r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
_PROPAGATOR = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None
# The ids the next root span takes (set only while ``order_root`` starts one).
_preset: ContextVar[tuple[int, int] | None] = ContextVar("trace_ids", default=None)


class OrderIds(IdGenerator):
    """Random ids, except for an order's root span, whose ids come from the order id."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        preset = _preset.get()
        return preset[1] if preset else self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        preset = _preset.get()
        return preset[0] if preset else self._random.generate_trace_id()


def provider(service: str) -> TracerProvider:
    """A tracer provider for ``service`` with the order-derived ids (add span processors to it)."""
    return TracerProvider(resource=Resource.create({"service.name": service}), id_generator=OrderIds())


def install(tracer_provider: TracerProvider | None) -> None:
    """Trace through this provider from now on (None: tracing off). Tests install an in-memory one."""
    global _tracer
    _tracer = tracer_provider.get_tracer("storefront") if tracer_provider is not None else None


def setup_tracing(service: str, settings: Settings) -> bool:
    """Export spans over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; returns whether tracing is on."""
    if not settings.text("OTEL_EXPORTER_OTLP_ENDPOINT"):
        install(None)
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    tracer_provider = provider(service)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    install(tracer_provider)
    return True


def enabled() -> bool:
    return _tracer is not None


def root_ids(correlation_id: str) -> tuple[int, int]:
    """The trace id and root span id of a saga, from its correlation id (the order id)."""
    digest = hashlib.sha256(correlation_id.encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


def root_context(correlation_id: str) -> Context:
    """A context whose parent is the saga's root span (wherever that span was made)."""
    trace_id, span_id = root_ids(correlation_id)
    parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(parent))


@contextmanager
def order_root(correlation_id: str, name: str) -> Iterator[None]:
    """Run the block in the saga's root span (the checkout); a no-op while tracing is off."""
    if _tracer is None:
        yield
        return
    token = _preset.set(root_ids(correlation_id))
    try:
        span = _tracer.start_span(name, context=Context(), kind=SpanKind.SERVER)
    finally:
        _preset.reset(token)
    span.set_attribute("correlation_id", correlation_id)
    with trace.use_span(span, end_on_exit=True):
        yield


@contextmanager
def in_saga(correlation_id: str, name: str, kind: SpanKind = SpanKind.INTERNAL) -> Iterator[None]:
    """Run the block in a span under the saga's root (a clerk's dispatch); a no-op while tracing is off."""
    if _tracer is None:
        yield
        return
    with _tracer.start_as_current_span(name, context=root_context(correlation_id), kind=kind) as span:
        span.set_attribute("correlation_id", correlation_id)
        yield


@contextmanager
def handling(envelope: Envelope, group: str) -> Iterator[None]:
    """Run a handler in a span under the span that published the event (or the saga's root)."""
    if _tracer is None:
        yield
        return
    if envelope.traceparent:
        parent = _PROPAGATOR.extract({"traceparent": envelope.traceparent})
    else:
        parent = root_context(envelope.correlation_id)
    name = f"{group} handle {envelope.type}"
    with _tracer.start_as_current_span(name, context=parent, kind=SpanKind.CONSUMER) as span:
        span.set_attribute("event.id", envelope.id)
        span.set_attribute("event.type", envelope.type)
        span.set_attribute("correlation_id", envelope.correlation_id)
        span.set_attribute("consumer.group", group)
        yield


def current_traceparent() -> str | None:
    """The current span as a W3C ``traceparent`` for an event's envelope (None: no span, or tracing off)."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")
