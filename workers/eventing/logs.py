"""Logging for every process (workers, the projector, the web process and uvicorn's loggers).

``setup_logging(service)`` is the one set-up: human-readable lines by default, and with
``LOG_FORMAT=json`` one JSON object per line with ``time``, ``level``, ``service``,
``logger`` and ``message``, plus ``correlation_id``, ``event_id`` and ``event_type``
wherever there is one. Those come from ``log_context`` (the consumer sets it around each
handler, the gateway around a checkout) or from a call's ``extra=``. ``LOG_LEVEL``
sets the level (default ``INFO``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from workers.eventing.envelope import Envelope

CONTEXT_FIELDS = ("correlation_id", "event_id", "event_type")
HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_NONE: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("log_context", default=_NONE)


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Every line logged inside carries these fields (None leaves a field as it was)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def event_context(envelope: Envelope) -> Any:
    """The log context of handling one event: its correlation id, id and type."""
    return log_context(correlation_id=envelope.correlation_id, event_id=envelope.id, event_type=envelope.type)


def log_fields(envelope: Envelope) -> dict[str, str]:
    """An event's fields for one call's ``extra=`` (a line logged outside its handler)."""
    return {"correlation_id": envelope.correlation_id, "event_id": envelope.id, "event_type": envelope.type}


def current_context() -> Mapping[str, str]:
    return _context.get()


class ContextFilter(logging.Filter):
    """Puts the log context's fields on each record (a call's own ``extra=`` wins)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": getattr(record, "service", ""),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def setup_logging(
    service: str,
    environ: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
    filters: Sequence[logging.Filter] = (),
) -> None:
    """Configure the root logger for this process; uvicorn's loggers and Python's warnings go through it too.

    ``filters`` see every line first (the web process's redaction of order tokens).
    """
    env = os.environ if environ is None else environ
    handler = logging.StreamHandler(stream or sys.stderr)
    for line_filter in filters:
        handler.addFilter(line_filter)
    handler.addFilter(ContextFilter(service))
    if env.get("LOG_FORMAT", "").lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(HUMAN_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(env.get("LOG_LEVEL", "INFO").upper())
    logging.captureWarnings(True)
    # uvicorn's own loggers: no handlers of their own, so their lines take this format.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
