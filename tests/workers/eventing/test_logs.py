"""Logs: human-readable by default, one JSON object per line with LOG_FORMAT=json, the saga's ids on each line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.logs import borrowed_root_logger
from tests.workers.eventing.support import Events, Node, add_to_stream, new_envelope
from workers.eventing import Received, UnitOfWork
from workers.eventing.logs import log_context, setup_logging

log = logging.getLogger("tests.logs")


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """What the root logger writes, for this test only (pytest's own handlers are put back after)."""
    with borrowed_root_logger() as stream:
        yield stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_time_level_service_logger_and_message(output: io.StringIO) -> None:
    setup_logging("orders", {"LOG_FORMAT": "json"}, output)

    log.info("order %s confirmed", "o-1")

    [line] = lines(output)
    assert line["level"] == "INFO" and line["service"] == "orders" and line["logger"] == "tests.logs"
    assert line["message"] == "order o-1 confirmed"
    assert line["time"].endswith("+00:00")
    assert "correlation_id" not in line  # none here: no field rather than an empty one


def test_lines_in_a_log_context_carry_its_ids_and_a_calls_extra_wins(output: io.StringIO) -> None:
    setup_logging("web", {"LOG_FORMAT": "json"}, output)

    with log_context(correlation_id="order-7", event_type="checkout.submitted"):
        log.info("inside")
        with log_context(event_id="e-1"):
            log.info("deeper")
        log.info("explicit", extra={"correlation_id": "order-8"})
    log.info("outside")

    inside, deeper, explicit, outside = lines(output)
    assert (inside["correlation_id"], inside["event_type"], "event_id" in inside) == (
        "order-7",
        "checkout.submitted",
        False,
    )
    assert (deeper["correlation_id"], deeper["event_id"]) == ("order-7", "e-1")
    assert explicit["correlation_id"] == "order-8"
    assert "correlation_id" not in outside


def test_an_exception_goes_into_the_same_json_line(output: io.StringIO) -> None:
    setup_logging("web", {"LOG_FORMAT": "json"}, output)

    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed")

    [line] = lines(output)
    assert "ValueError: boom" in line["exception"]


def test_the_default_stays_human_readable(output: io.StringIO) -> None:
    setup_logging("web", {}, output)

    log.warning("plain words")

    text = output.getvalue()
    assert "WARNING tests.logs: plain words" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_uvicorns_loggers_and_log_level_go_through_the_same_set_up(output: io.StringIO) -> None:
    logging.getLogger("uvicorn.access").addHandler(logging.NullHandler())
    setup_logging("web", {"LOG_FORMAT": "json", "LOG_LEVEL": "warning"}, output)

    logging.getLogger("uvicorn.access").warning("GET /x 404")
    logging.getLogger("uvicorn.error").info("below the level")

    [line] = lines(output)
    assert (line["logger"], line["service"], line["message"]) == ("uvicorn.access", "web", "GET /x 404")
    assert logging.getLogger("uvicorn.access").handlers == []


def test_the_consumer_logs_a_handlers_lines_with_its_events_ids(
    output: io.StringIO, sqlite_node: Node, events: Events
) -> None:
    def handler(event: Received[Any], uow: UnitOfWork) -> None:
        logging.getLogger("tests.handler").info("handling n=%s", event.data.n)

    consumer = sqlite_node.consumer({events.happened.TYPE: handler})
    envelope = new_envelope(events.happened(n=3))
    add_to_stream(sqlite_node.client, events.registry, envelope)
    setup_logging("service", {"LOG_FORMAT": "json"}, output)

    consumer.step()
    consumer.step()

    [handled] = [line for line in lines(output) if line["logger"] == "tests.handler"]
    assert handled["message"] == "handling n=3"
    assert (handled["correlation_id"], handled["event_id"], handled["event_type"]) == (
        envelope.correlation_id,
        envelope.id,
        envelope.type,
    )


def test_a_handlers_after_commit_lines_carry_its_events_ids(
    output: io.StringIO, sqlite_node: Node, events: Events
) -> None:
    def handler(event: Received[Any], uow: UnitOfWork) -> None:
        uow.after_commit(lambda: logging.getLogger("tests.handler").info("committed n=%s", event.data.n))

    consumer = sqlite_node.consumer({events.happened.TYPE: handler})
    envelope = new_envelope(events.happened(n=4))
    add_to_stream(sqlite_node.client, events.registry, envelope)
    setup_logging("service", {"LOG_FORMAT": "json"}, output)

    for _ in range(3):
        consumer.step()

    [committed] = [line for line in lines(output) if line["logger"] == "tests.handler"]
    assert (committed["message"], committed["correlation_id"], committed["event_id"]) == (
        "committed n=4",
        envelope.correlation_id,
        envelope.id,
    )
