"""The inbox: a redelivered or republished event changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from tests.support.waiting import wait_until
from tests.workers.eventing.support import Events, Node, add_to_stream, caught_up, new_envelope, running
from workers.eventing.inbox import already_processed, record_processed
from workers.eventing.tables import backbone_tables

DEADLINE_S = 30.0


def test_the_same_event_twice_on_the_stream_is_applied_once(node: Node, events: Events) -> None:
    consumer = node.consumer()
    envelope = new_envelope(events.happened(n=1))
    other = new_envelope(events.happened(n=2))
    for each in (envelope, envelope, other, envelope):  # twice in one batch, once in a later one
        add_to_stream(node.client, events.registry, each)

    with running(consumer):
        wait_until(lambda: caught_up(node.client, events.stream), DEADLINE_S, "the first four acked")
        add_to_stream(node.client, events.registry, envelope)
        wait_until(lambda: caught_up(node.client, events.stream), DEADLINE_S, "the late duplicate acked")

    assert node.effect_counts() == {envelope.id: 1, other.id: 1}


def test_each_group_remembers_its_own_events(node: Node) -> None:
    inbox = backbone_tables(node.db.metadata).inbox
    with node.db.transaction() as conn:
        record_processed(conn, inbox, "orders", ["event-1", "event-2"])
        record_processed(conn, inbox, "payments", ["event-2"])

    with node.db.snapshot() as conn:
        assert already_processed(conn, inbox, "orders", ["event-1", "event-2", "event-3"]) == {"event-1", "event-2"}
        assert already_processed(conn, inbox, "payments", ["event-1", "event-2"]) == {"event-2"}
        assert already_processed(conn, inbox, "payments", []) == set()


def test_recording_an_event_twice_fails_the_transaction(node: Node) -> None:
    # What makes two replicas that raced on the same event roll one of them back.
    inbox = backbone_tables(node.db.metadata).inbox
    with node.db.transaction() as conn:
        record_processed(conn, inbox, "orders", ["event-1"])
    with pytest.raises(IntegrityError), node.db.transaction() as conn:
        record_processed(conn, inbox, "orders", ["event-1"])
