"""Redis stopped, killed or restarted empty: nothing committed is lost and nobody has to be restarted."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import select

from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from tests.workers.eventing.support import GROUP, Events, Node, running, stream_event_ids

DEADLINE_S = 60.0


def test_while_redis_is_down_the_outbox_fills_and_after_it_returns_every_event_goes_out_in_order(
    node: Node, events: Events, redis_server: RedisServer
) -> None:
    with running(node.relay()) as threads:
        before = node.publish(0)
        wait_until(lambda: node.outbox.backlog() == 0, DEADLINE_S, "published while Redis is up")
        redis_server.stop()

        during = [envelope for n in range(1, 51) for envelope in node.publish(n)]  # the service goes on writing
        assert node.outbox.backlog() == 50

        redis_server.restart()
        wait_until(lambda: node.outbox.backlog() == 0, DEADLINE_S, "outbox emptied after Redis returned")
        assert all(thread.is_alive() for thread in threads)  # the same relay thread, never restarted

    assert stream_event_ids(node.client, events.stream) == [e.id for e in before + during]


def test_every_row_marked_sent_is_on_the_stream_after_redis_is_killed(
    node: Node, events: Events, redis_server: RedisServer
) -> None:
    writing = threading.Event()
    writing.set()

    def write() -> None:
        n = 0
        while writing.is_set():
            node.publish(*range(n, n + 20))
            n += 20

    writer = threading.Thread(target=write)
    with running(node.relay()):
        writer.start()
        wait_until(lambda: len(_sent(node)) >= 200, DEADLINE_S, "the relay is publishing")
        redis_server.kill()  # SIGKILL while the relay is busy: no shutdown, no save
        writing.clear()
        writer.join()
    sent = _sent(node)

    redis_server.restart()
    assert sent <= set(stream_event_ids(node.client, events.stream))


def _sent(node: Node) -> set[str]:
    table = node.outbox.table
    with node.db.snapshot() as conn:
        return set(conn.scalars(select(table.c.event_id).where(table.c.sent_at.is_not(None))))


def test_after_redis_restarts_empty_groups_are_created_again_and_consuming_goes_on(
    sqlite_node: Node, events: Events, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    node = sqlite_node
    caplog.set_level(logging.WARNING, logger="workers.eventing.consumer")
    with running(node.relay(), node.consumer()) as threads:
        first = node.publish(1)
        wait_until(lambda: node.effect_counts() == {first[0].id: 1}, DEADLINE_S, "handled before the restart")

        redis_server.restart(empty=True)
        later = node.publish(2, 3)
        wait_until(lambda: len(node.effect_counts()) == 3, DEADLINE_S, "handled after the restart")
        assert all(thread.is_alive() for thread in threads)

    assert node.effect_counts() == {e.id: 1 for e in first + later}
    assert [group["name"] for group in node.client.xinfo_groups(events.stream)] == [GROUP.encode()]
    recreated = [record for record in caplog.records if "group missing" in record.getMessage()]
    assert 1 <= len(recreated) <= 2  # re-created once, not a crash loop
