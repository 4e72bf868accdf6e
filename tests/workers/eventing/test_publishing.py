"""A consumer publishes its batch's events with its XACK; what it cannot publish waits for the relay, in order."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import insert

from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from tests.workers.eventing.support import (
    Events,
    Node,
    add_to_stream,
    caught_up,
    new_envelope,
    running,
    stream_event_ids,
)
from workers.eventing import Consumer, Received, UnitOfWork
from workers.eventing.publishing import entry_fields
from workers.eventing.registry import EVENT_FIELD, TYPE_FIELD

DEADLINE_S = 30.0


def _follower(node: Node, **settings: Any) -> Consumer:
    """A consumer whose handler records an effect and publishes a ``Followed`` with the same ``n``."""

    def follow(event: Received[Any], uow: UnitOfWork) -> None:
        uow.conn.execute(insert(node.effects).values(event_id=event.envelope.id, n=event.data.n, consumer="follower"))
        n: int = event.data.n
        uow.publish(node.events.followed(n=n), aggregate_id="thing-1", aggregate_version=n)

    return node.consumer({node.events.happened.TYPE: follow}, **settings)


def _add_happened(node: Node, *numbers: int) -> None:
    for n in numbers:
        add_to_stream(node.client, node.events.registry, new_envelope(node.events.happened(n=n)))


def _followed_numbers(node: Node) -> list[int]:
    stream = node.events.followed.STREAM
    entries: Any = node.client.xrange(stream)
    decoded = [node.events.registry.decode(stream, entry_id.decode(), fields) for entry_id, fields in entries]
    return [cast(Any, received.data).n for received in decoded]


def _step_until_caught_up(node: Node, consumer: Consumer) -> None:
    wait_until(lambda: consumer.step() >= 0 and caught_up(node.client, node.events.stream), DEADLINE_S, "batch handled")


def test_a_batch_s_events_are_on_their_streams_without_the_relay_running(node: Node, events: Events) -> None:
    consumer = _follower(node)
    _add_happened(node, 1, 2, 3)

    _step_until_caught_up(node, consumer)

    assert _followed_numbers(node) == [1, 2, 3]
    assert node.outbox.backlog() == 0  # marked sent once on the stream


def test_an_event_published_by_a_consumer_has_the_same_entry_as_one_the_relay_publishes(
    sqlite_node: Node, events: Events
) -> None:
    node = sqlite_node
    consumer = _follower(node)
    _add_happened(node, 1)
    _step_until_caught_up(node, consumer)
    ((_, fields),) = cast(list[tuple[bytes, dict[bytes, bytes]]], node.client.xrange(events.followed.STREAM))

    assert set(fields) == {TYPE_FIELD, EVENT_FIELD}
    assert entry_fields("test.followed", fields[EVENT_FIELD].decode()) == {
        key: value.decode() for key, value in fields.items()
    }


def test_an_exception_between_commit_and_publish_leaves_the_rows_to_the_relay(node: Node, events: Events) -> None:
    consumer = _follower(node)
    failures = iter([RuntimeError("died after the commit")])

    def fail_once() -> None:
        if (error := next(failures, None)) is not None:
            raise error

    node.outbox.on_commit(fail_once)
    _add_happened(node, 1, 2)
    _step_until_caught_up(node, consumer)  # the batch committed, then failed; read back, skipped as done
    assert _followed_numbers(node) == []
    assert node.outbox.backlog() == 2

    _add_happened(node, 3)  # a later batch waits behind the rows left to the relay
    _step_until_caught_up(node, consumer)
    assert _followed_numbers(node) == []

    assert node.relay().drain() == 3
    assert _followed_numbers(node) == [1, 2, 3]
    assert sorted(node.effect_counts().values()) == [1, 1, 1]


def test_older_rows_waiting_for_the_relay_keep_a_batch_s_events_behind_them(node: Node, events: Events) -> None:
    with node.outbox.unit_of_work() as uow:  # committed, never published: no relay runs
        uow.publish(events.followed(n=0), aggregate_id="thing-1", aggregate_version=0)
    consumer = _follower(node)
    _add_happened(node, 1, 2)

    _step_until_caught_up(node, consumer)

    assert _followed_numbers(node) == []  # publishing them now would put them ahead of n=0
    node.relay().drain()
    assert _followed_numbers(node) == [0, 1, 2]


def test_when_redis_goes_away_after_the_commit_the_rows_wait_and_then_go_out_in_order(
    sqlite_node: Node, events: Events, redis_server: RedisServer
) -> None:
    node = sqlite_node
    consumer = _follower(node)
    stops = iter([redis_server.stop])
    node.outbox.on_commit(lambda: next(stops, lambda: None)())  # Redis goes away right after the first commit

    _add_happened(node, 1, 2, 3)
    with running(consumer) as threads:
        wait_until(lambda: len(node.effect_counts()) == 3, DEADLINE_S, "the batch committed")
        wait_until(lambda: not redis_server.is_running, DEADLINE_S, "Redis stopped after the commit")
        assert node.outbox.backlog() == 3  # committed, not published: they wait

        redis_server.restart()  # the AOF kept the stream and the group's pending entries
        _add_happened(node, 4, 5)
        with running(node.relay()):
            wait_until(lambda: len(_followed_numbers(node)) >= 5, DEADLINE_S, "every event published")
            wait_until(lambda: caught_up(node.client, events.stream), DEADLINE_S, "every event acked")
        assert all(thread.is_alive() for thread in threads)  # the consumer rode the outage out

    assert _followed_numbers(node) == [1, 2, 3, 4, 5]
    assert node.outbox.backlog() == 0
    assert sorted(node.effect_counts().values()) == [1, 1, 1, 1, 1]


def test_a_relay_beside_the_consumer_never_sends_a_batch_s_row_a_second_time(sqlite_node: Node, events: Events) -> None:
    node = sqlite_node
    consumer = _follower(node, batch_size=10)
    relay = node.relay(poll_interval=0.001)  # looks at the outbox all the time
    with running(consumer, relay):
        for start in range(0, 300, 30):
            _add_happened(node, *range(start, start + 30))
        wait_until(lambda: caught_up(node.client, events.stream), DEADLINE_S, "every event handled")
        wait_until(lambda: node.outbox.backlog() == 0, DEADLINE_S, "every row sent")

    followed = stream_event_ids(node.client, events.followed.STREAM)
    assert len(followed) == len(set(followed)) == 300
    assert _followed_numbers(node) == list(range(300))
