"""A process publishes its own commits at once; the relay (settled) takes only what it could not."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis.asyncio as aioredis

from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from tests.workers.eventing.support import Events, Node, running, stream_event_ids
from workers.eventing.after_commit import AfterCommitPublisher

DEADLINE_S = 30.0
SETTLE_S = 0.5  # short, so the tests of the relay's part stay short


@contextmanager
def publishing(node: Node, redis_url: str, settle_s: float = SETTLE_S) -> Iterator[AfterCommitPublisher]:
    """The node's after-commit publisher on an event loop of its own (as the web process runs it)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="publisher-loop", daemon=True)
    thread.start()
    client = aioredis.Redis.from_url(redis_url, socket_timeout=5.0, socket_connect_timeout=1.0)
    publisher = AfterCommitPublisher(node.outbox, client, settle_s=settle_s)
    asyncio.run_coroutine_threadsafe(publisher.start(), loop).result(timeout=DEADLINE_S)
    try:
        yield publisher
    finally:
        asyncio.run_coroutine_threadsafe(publisher.stop(), loop).result(timeout=DEADLINE_S)
        asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(timeout=DEADLINE_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=DEADLINE_S)
        loop.close()


def test_a_commit_is_published_and_marked_sent_without_any_relay(node: Node, events: Events, redis_url: str) -> None:
    with publishing(node, redis_url) as publisher:
        first = node.publish(1, 2)
        second = node.publish(3)

        wait_until(lambda: node.outbox.backlog() == 0, DEADLINE_S, "the rows marked sent")

    assert stream_event_ids(node.client, events.stream) == [e.id for e in first + second]
    assert publisher.published == 3


def test_the_settled_relay_leaves_fresh_rows_to_the_process_that_wrote_them(node: Node, events: Events) -> None:
    (event,) = node.publish(1)

    assert node.relay(settle_s=3600).drain() == 0
    assert node.relay().drain() == 1  # an unsettled relay takes every row
    assert stream_event_ids(node.client, events.stream) == [event.id]


def test_with_redis_away_the_commit_stands_and_the_relay_publishes_its_row_later(
    sqlite_node: Node, events: Events, redis_server: RedisServer
) -> None:
    node = sqlite_node
    with publishing(node, redis_server.url) as publisher:
        redis_server.kill()
        (lost,) = node.publish(1)  # committed: nothing here waits for Redis

        wait_until(lambda: publisher.deferring, DEADLINE_S, "the publisher to give the row to the relay")
        assert node.outbox.backlog() == 1  # not marked sent: its XADD failed

        redis_server.restart()
        with running(node.relay(settle_s=SETTLE_S)):
            wait_until(lambda: node.outbox.backlog() == 0, DEADLINE_S, "the relay to publish the row")
            wait_until(lambda: not publisher.deferring, DEADLINE_S, "the publisher to take over again")
            (fresh,) = node.publish(2)
            wait_until(lambda: node.outbox.backlog() == 0, DEADLINE_S, "the fresh row published")

    assert stream_event_ids(node.client, events.stream) == [lost.id, fresh.id]
    assert publisher.published == 1  # the fresh one; the lost one went through the relay


def test_rows_left_from_before_the_start_go_out_first_and_in_order(node: Node, events: Events, redis_url: str) -> None:
    backlog = node.publish(1, 2)  # a process died before publishing these

    with publishing(node, redis_url) as publisher:
        assert publisher.deferring
        fresh = node.publish(3)
        with running(node.relay(settle_s=SETTLE_S)):
            wait_until(lambda: node.outbox.backlog() == 0, DEADLINE_S, "the relay to publish the backlog")

    assert stream_event_ids(node.client, events.stream) == [e.id for e in backlog + fresh]
