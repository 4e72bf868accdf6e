"""The consumer runner: retries, dead letters, skipping what is not ours, batches, ticks."""

from __future__ import annotations

from typing import Any

from tests.support.waiting import wait_until
from tests.workers.eventing.support import (
    GROUP,
    Events,
    Node,
    add_raw,
    add_to_stream,
    caught_up,
    failing,
    new_envelope,
    record_effect,
    running,
)
from workers.eventing import Received, Tick, UnitOfWork
from workers.eventing.dead_letters import DLQ_STREAM, list_dead_letters
from workers.eventing.registry import EVENT_FIELD, TYPE_FIELD

DEADLINE_S = 30.0


def test_a_handler_that_fails_the_first_two_deliveries_applies_the_event_once_in_the_end(
    sqlite_node: Node, events: Events
) -> None:
    node = sqlite_node
    handler, calls = failing(2, then=record_effect(node.effects, "flaky"))
    consumer = node.consumer({events.happened.TYPE: handler})
    add_to_stream(node.client, events.registry, new_envelope(events.happened(n=1)))

    with running(consumer):
        wait_until(lambda: caught_up(node.client, events.stream), DEADLINE_S, "event handled and acked")

    assert calls() == 3
    assert list(node.effect_counts().values()) == [1]  # the two failed attempts were rolled back
    assert list_dead_letters(node.client) == []


def test_an_undecodable_entry_goes_to_the_dead_letter_stream_at_once_and_later_events_keep_flowing(
    sqlite_node: Node, events: Events
) -> None:
    node = sqlite_node
    consumer = node.consumer(max_deliveries=3)
    garbage = add_raw(node.client, events.stream, {TYPE_FIELD: b"test.happened", EVENT_FIELD: b"{not json"})
    no_type = add_raw(node.client, events.stream, {b"something": b"else"})
    later = new_envelope(events.happened(n=2))
    add_to_stream(node.client, events.registry, later)

    with running(consumer):
        wait_until(lambda: node.effect_counts() == {later.id: 1}, DEADLINE_S, "the later event handled")
        wait_until(lambda: caught_up(node.client, events.stream), DEADLINE_S, "everything acked")

    letters = {letter.entry_id: letter for letter in list_dead_letters(node.client)}
    assert set(letters) == {garbage, no_type}
    bad = letters[garbage]
    assert (bad.stream, bad.group, bad.deliveries) == (events.stream, GROUP, 1)
    assert bad.error.startswith("malformed: bad envelope")
    assert (bad.event_type, bad.event) == ("test.happened", b"{not json")
    assert "no 'event' field" in letters[no_type].error


def test_a_handler_that_always_fails_sends_its_event_to_dlq_after_max_deliveries_and_others_flow(
    sqlite_node: Node, events: Events
) -> None:
    node = sqlite_node
    effect = record_effect(node.effects, "picky")

    def refuse_odd(event: Received[Any], uow: UnitOfWork) -> None:
        if event.data.n % 2:
            raise ValueError(f"cannot handle {event.data.n}")
        effect(event, uow)

    consumer = node.consumer({events.happened.TYPE: refuse_odd}, max_deliveries=3)
    poison = new_envelope(events.happened(n=1))
    good = [new_envelope(events.happened(n=n)) for n in (0, 2)]
    for envelope in (good[0], poison, good[1]):
        add_to_stream(node.client, events.registry, envelope)

    with running(consumer):
        wait_until(lambda: list_dead_letters(node.client), DEADLINE_S, "poison event dead-lettered")
        later = new_envelope(events.happened(n=4))
        add_to_stream(node.client, events.registry, later)
        wait_until(lambda: later.id in node.effect_counts(), DEADLINE_S, "a later event handled")
        wait_until(lambda: caught_up(node.client, events.stream), DEADLINE_S, "everything acked")

    (letter,) = list_dead_letters(node.client)
    assert (letter.stream, letter.group, letter.deliveries) == (events.stream, GROUP, 3)
    assert letter.error == "ValueError('cannot handle 1')"
    assert events.registry.decode(letter.stream, letter.entry_id, {EVENT_FIELD: letter.event}).envelope == poison
    assert node.effect_counts() == {good[0].id: 1, good[1].id: 1, later.id: 1}


def test_a_failing_event_does_not_hold_back_the_others_of_its_batch(sqlite_node: Node, events: Events) -> None:
    node = sqlite_node
    effect = record_effect(node.effects, "batch")

    def refuse_three(event: Received[Any], uow: UnitOfWork) -> None:
        effect(event, uow)
        if event.data.n == 3:
            raise ValueError("three")

    consumer = node.consumer({events.happened.TYPE: refuse_three}, max_deliveries=1)
    envelopes = [new_envelope(events.happened(n=n)) for n in range(6)]
    for envelope in envelopes:
        add_to_stream(node.client, events.registry, envelope)

    with running(consumer):
        wait_until(lambda: caught_up(node.client, events.stream), DEADLINE_S, "everything acked")

    assert node.effect_counts() == {e.id: 1 for e in envelopes if e.data["n"] != 3}
    assert [letter.error for letter in list_dead_letters(node.client)] == ["ValueError('three')"]


def test_an_event_type_the_group_does_not_handle_is_acked_and_skipped(sqlite_node: Node, events: Events) -> None:
    node = sqlite_node
    consumer = node.consumer()
    add_raw(node.client, events.stream, {TYPE_FIELD: b"test.unheard_of", EVENT_FIELD: b"{}"})
    envelope = new_envelope(events.happened(n=1))
    add_to_stream(node.client, events.registry, envelope)

    with running(consumer):
        wait_until(lambda: caught_up(node.client, events.stream), DEADLINE_S, "everything acked")

    assert node.effect_counts() == {envelope.id: 1}
    assert list_dead_letters(node.client) == []
    assert node.client.xlen(DLQ_STREAM) == 0


def test_every_event_is_applied_once_and_acked(sqlite_node: Node, events: Events) -> None:
    node = sqlite_node
    consumer = node.consumer(batch_size=7)
    envelopes = [new_envelope(events.happened(n=n)) for n in range(50)]
    for envelope in envelopes:
        add_to_stream(node.client, events.registry, envelope)

    with running(consumer):
        wait_until(lambda: sum(node.effect_counts().values()) == 50, DEADLINE_S, "all handled")
        wait_until(lambda: caught_up(node.client, events.stream), DEADLINE_S, "all acked")

    assert node.effect_counts() == {envelope.id: 1 for envelope in envelopes}
    group = node.client.xinfo_groups(events.stream)[0]
    assert group["entries-read"] == 50


def test_ticks_run_between_reads_and_a_failing_tick_does_not_stop_the_consumer(
    sqlite_node: Node, events: Events
) -> None:
    node = sqlite_node
    ticks: list[str] = []

    def broken() -> None:
        raise RuntimeError("tick failed")

    consumer = node.consumer(block_ms=50, ticks=[Tick(0.01, lambda: ticks.append("tick")), Tick(0.01, broken)])
    envelope = new_envelope(events.happened(n=1))

    with running(consumer):
        wait_until(lambda: len(ticks) >= 3, DEADLINE_S, "ticks ran")
        add_to_stream(node.client, events.registry, envelope)
        wait_until(lambda: node.effect_counts() == {envelope.id: 1}, DEADLINE_S, "still consuming")
