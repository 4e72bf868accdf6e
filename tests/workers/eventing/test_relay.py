"""The relay publishes outbox rows in order, is woken by commits, and one relay at a time does it."""

from __future__ import annotations

from typing import cast

from sqlalchemy import func, select

from tests.support.waiting import wait_until
from tests.workers.eventing.support import Events, Node, running, stream_event_ids
from workers.eventing import Relay
from workers.eventing.registry import TYPE_FIELD
from workers.eventing.retention import RetentionPolicy

DEADLINE_S = 30.0


def test_the_relay_publishes_rows_in_commit_order_and_marks_them_sent(node: Node, events: Events) -> None:
    first = node.publish(1, 2, 3)
    second = node.publish(4)
    (other,) = _publish_followed(node, events)

    assert node.relay().drain() == 5

    assert stream_event_ids(node.client, events.stream) == [e.id for e in first + second]
    assert stream_event_ids(node.client, events.followed.STREAM) == [other]
    assert node.outbox.backlog() == 0
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], node.client.xrange(events.stream))
    assert {fields[TYPE_FIELD] for _, fields in entries} == {b"test.happened"}


def _publish_followed(node: Node, events: Events) -> list[str]:
    with node.outbox.unit_of_work() as uow:
        return [uow.publish(events.followed(n=1), aggregate_id="thing-9", aggregate_version=1).id]


def test_a_commit_wakes_the_relay_without_waiting_for_its_poll(node: Node, events: Events) -> None:
    relay = node.relay(poll_interval=3600)  # only a wake-up can publish in time
    with running(relay):
        (first,) = node.publish(1)
        wait_until(lambda: stream_event_ids(node.client, events.stream) == [first.id], DEADLINE_S, "first published")
        # The relay has looked at the outbox and gone back to waiting: only the commit can wake it now.
        (second,) = node.publish(2)
        wait_until(lambda: len(stream_event_ids(node.client, events.stream)) == 2, DEADLINE_S, "second published")
    assert stream_event_ids(node.client, events.stream) == [first.id, second.id]


def test_only_the_relay_holding_the_lease_publishes(node: Node, events: Events) -> None:
    leader = Relay(node.outbox, node.client, owner="leader", lease_ttl=1.0)
    follower = Relay(node.outbox, node.client, owner="follower", lease_ttl=1.0)
    node.publish(1)
    assert leader.drain() == 1
    node.publish(2)

    assert follower.publish_pending() == 0  # the leader's lease still holds
    # The leader goes quiet; once its lease expires the follower takes over.
    wait_until(lambda: follower.publish_pending() == 1, DEADLINE_S, "follower took over")
    assert len(stream_event_ids(node.client, events.stream)) == 2


def test_sent_rows_are_removed_after_the_retention_time(node: Node, events: Events) -> None:
    envelopes = node.publish(1, 2)
    with running(node.relay(retention=RetentionPolicy(outbox_keep_s=0.0, interval_s=0.0))):
        wait_until(lambda: _outbox_rows(node) == 0, DEADLINE_S, "sent rows cleaned up")
    assert stream_event_ids(node.client, events.stream) == [e.id for e in envelopes]


def _outbox_rows(node: Node) -> int:
    with node.db.snapshot() as conn:
        return int(conn.scalar(select(func.count()).select_from(node.outbox.table)) or 0)
