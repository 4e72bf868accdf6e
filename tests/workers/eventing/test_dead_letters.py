"""Dead letters: listed with why they failed, and retried once the cause is fixed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.waiting import wait_until
from tests.workers.eventing.support import (
    GROUP,
    Events,
    Node,
    add_to_stream,
    new_envelope,
    pending_count,
    record_effect,
    running,
)
from workers.eventing import Received, UnitOfWork
from workers.eventing.dead_letters import DLQ_STREAM, dead_letter, list_dead_letters, retry_dead_letter
from workers.eventing.registry import EVENT_FIELD

DEADLINE_S = 30.0


def test_a_dead_letter_keeps_the_event_and_says_where_and_why_it_failed(sqlite_node: Node, events: Events) -> None:
    node = sqlite_node
    node.consumer()  # creates the group
    envelope = new_envelope(events.happened(n=1))
    entry_id = add_to_stream(node.client, events.registry, envelope)
    node.client.xreadgroup(GROUP, "reader", {events.stream: ">"})
    fields = events.registry.encode(envelope)

    dead_letter(
        node.client, stream=events.stream, entry_id=entry_id, group=GROUP, fields=fields, error="boom", deliveries=5
    )

    (letter,) = list_dead_letters(node.client)
    assert (letter.stream, letter.entry_id, letter.group) == (events.stream, entry_id, GROUP)
    assert (letter.error, letter.deliveries, letter.event_type) == ("boom", 5, "test.happened")
    assert letter.event == fields[EVENT_FIELD]
    assert pending_count(node.client, events.stream) == 0  # moved and acked together


def test_retrying_a_dead_letter_puts_its_event_back_on_its_stream(sqlite_node: Node, events: Events) -> None:
    node = sqlite_node
    fields = events.registry.encode(new_envelope(events.happened(n=1)))
    dead_letter(node.client, stream=events.stream, entry_id="1-1", group=GROUP, fields=fields, error="x", deliveries=1)
    (letter,) = list_dead_letters(node.client)

    new_id = retry_dead_letter(node.client, letter.dlq_id)

    assert list_dead_letters(node.client) == []
    assert node.client.xrange(events.stream) == [(new_id.encode(), fields)]


def test_retrying_a_dead_letter_that_does_not_exist_says_so(sqlite_node: Node) -> None:
    with pytest.raises(KeyError, match="no dead letter"):
        retry_dead_letter(sqlite_node.client, "1-1")
    assert sqlite_node.client.exists(DLQ_STREAM) == 0


def test_a_dead_letter_retried_after_the_fix_is_handled_once(sqlite_node: Node, events: Events) -> None:
    node = sqlite_node
    effect = record_effect(node.effects, "fixed-later")
    fixed = False

    def handle(event: Received[Any], uow: UnitOfWork) -> None:
        if not fixed:
            raise RuntimeError("a bug in the handler")
        effect(event, uow)

    envelope = new_envelope(events.happened(n=1))
    add_to_stream(node.client, events.registry, envelope)
    with running(node.consumer({events.happened.TYPE: handle}, max_deliveries=2)):
        (letter,) = wait_until(lambda: list_dead_letters(node.client), DEADLINE_S, "dead-lettered")
        assert node.effect_counts() == {}

        fixed = True
        retry_dead_letter(node.client, letter.dlq_id)
        unrelated = new_envelope(events.happened(n=2))  # unrelated traffic keeps flowing too
        add_to_stream(node.client, events.registry, unrelated)
        wait_until(lambda: len(node.effect_counts()) == 2, DEADLINE_S, "retried event handled")

    assert node.effect_counts() == {envelope.id: 1, unrelated.id: 1}
    assert list_dead_letters(node.client) == []
