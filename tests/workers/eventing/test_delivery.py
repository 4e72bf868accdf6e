"""At-least-once delivery with effects exactly once, from concurrent writers to groups of consumers."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select

from tests.support.waiting import wait_until
from tests.workers.eventing.support import Events, Node, caught_up, running

WRITERS = 5
EVENTS_PER_WRITER = 1_000
EVENTS_PER_TRANSACTION = 10
DEADLINE_S = 120.0


def _write_concurrently(node: Node) -> None:
    """Writers in threads, each committing its events a few at a time."""
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for start in range(0, EVENTS_PER_WRITER, EVENTS_PER_TRANSACTION):
                base = writer * EVENTS_PER_WRITER + start
                node.publish(*range(base, base + EVENTS_PER_TRANSACTION), aggregate_id=f"writer-{writer}")
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures


def test_5000_events_from_concurrent_writers_reach_three_consumers_of_one_group_once_each(
    database_url: str, redis_url: str, events: Events
) -> None:
    producer = Node("producer", database_url, redis_url, events)
    replicas = [Node("consumer", database_url, redis_url, events) for _ in range(3)]
    consumers = [replica.consumer(name=f"consumer-{i}", batch_size=50) for i, replica in enumerate(replicas)]
    total = WRITERS * EVENTS_PER_WRITER

    with running(producer.relay(), *consumers):
        _write_concurrently(producer)
        wait_until(lambda: sum(replicas[0].effect_counts().values()) >= total, DEADLINE_S, "every event handled")
        wait_until(lambda: caught_up(producer.client, events.stream), DEADLINE_S, "every event acked")

    with producer.db.snapshot() as conn:
        published = set(conn.scalars(select(producer.outbox.table.c.event_id)))
    applied = replicas[0].effect_counts()
    assert len(published) == total
    assert set(applied) == published
    assert set(applied.values()) == {1}
    for node in (producer, *replicas):
        node.close()


def test_two_groups_on_one_stream_each_process_every_event(sqlite_url: str, redis_url: str, events: Events) -> None:
    producer = Node("producer", sqlite_url, redis_url, events)
    first, second = (producer.consumer(group=group, name=f"{group}-1") for group in ("first", "second"))
    envelopes = producer.publish(*range(100))

    with running(producer.relay(), first, second):
        wait_until(lambda: _handled_by(producer, "first") == _handled_by(producer, "second") == 100, DEADLINE_S)

    expected = {envelope.id for envelope in envelopes}
    with producer.db.snapshot() as conn:
        for group in ("first", "second"):
            applied = Counter(
                conn.scalars(select(producer.effects.c.event_id).where(producer.effects.c.consumer == f"{group}-1"))
            )
            assert set(applied) == expected
            assert set(applied.values()) == {1}
    assert caught_up(producer.client, events.stream, "first")
    assert caught_up(producer.client, events.stream, "second")
    producer.close()


def _handled_by(node: Node, group: str) -> int:
    with node.db.snapshot() as conn:
        return len(list(conn.scalars(select(node.effects.c.id).where(node.effects.c.consumer == f"{group}-1"))))
