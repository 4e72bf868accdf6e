"""Streams are trimmed behind the slowest group and outside the history window, never further."""

from __future__ import annotations

from typing import Any, cast

import redis

from tests.support.waiting import wait_until
from tests.workers.eventing.support import GROUP, Events, Node, add_raw, running, stream_event_ids
from workers.eventing.retention import Housekeeping, RetentionPolicy
from workers.eventing.trimming import ms_of, plan_trim, trim

DEADLINE_S = 30.0
NO_WINDOW = 0.0


def test_entries_every_group_has_processed_go_once_they_leave_the_window(node: Node, events: Events) -> None:
    node.client.xgroup_create(events.stream, GROUP, id="0", mkstream=True)
    older = _add(node.client, events.stream, 3)
    _wait_for_redis_time_past(node.client, older[-1], seconds=1.0)
    newer = _add(node.client, events.stream, 2)
    _read_and_ack(node.client, events.stream, GROUP, count=5)

    plan = plan_trim(node.client, events.stream, keep_s=1.0)
    assert plan.holder is None
    assert trim(node.client, plan) == 3

    assert _ids(node.client, events.stream) == newer


def test_a_group_that_has_not_read_holds_trimming_back(node: Node, events: Events) -> None:
    node.client.xgroup_create(events.stream, "fast", id="0", mkstream=True)
    node.client.xgroup_create(events.stream, "stopped", id="0")
    added = _add(node.client, events.stream, 4)
    _read_and_ack(node.client, events.stream, "fast", count=4)
    _read_and_ack(node.client, events.stream, "stopped", count=1)

    plan = plan_trim(node.client, events.stream, keep_s=NO_WINDOW)
    assert plan.holder is not None and plan.holder.group == "stopped"
    assert plan.holder.reason == "last delivered"
    trim(node.client, plan)

    assert _ids(node.client, events.stream) == added[1:]


def test_pending_entries_are_never_trimmed(node: Node, events: Events) -> None:
    node.client.xgroup_create(events.stream, GROUP, id="0", mkstream=True)
    added = _add(node.client, events.stream, 4)
    node.client.xreadgroup(GROUP, "c1", {events.stream: ">"}, count=4)
    node.client.xack(events.stream, GROUP, added[0], added[2], added[3])  # the second stays pending

    plan = plan_trim(node.client, events.stream, keep_s=NO_WINDOW)
    assert plan.holder is not None and plan.holder.reason == "oldest pending"
    assert trim(node.client, plan) == 1

    assert _ids(node.client, events.stream) == added[1:]
    assert node.client.xpending(events.stream, GROUP)["min"].decode() == added[1]


def test_a_stream_without_groups_keeps_only_the_window(node: Node, events: Events) -> None:
    older = _add(node.client, events.stream, 3)
    _wait_for_redis_time_past(node.client, older[-1], seconds=1.0)
    newer = _add(node.client, events.stream, 1)

    assert trim(node.client, plan_trim(node.client, events.stream, keep_s=1.0)) == 3

    assert _ids(node.client, events.stream) == newer


def test_the_window_keeps_recent_entries_every_group_has_processed(node: Node, events: Events) -> None:
    node.client.xgroup_create(events.stream, GROUP, id="0", mkstream=True)
    added = _add(node.client, events.stream, 3)
    _read_and_ack(node.client, events.stream, GROUP, count=3)

    assert trim(node.client, plan_trim(node.client, events.stream, keep_s=3600)) == 0

    assert _ids(node.client, events.stream) == added


def test_a_stopped_group_loses_nothing_it_had_not_read_when_it_restarts(node: Node, events: Events) -> None:
    keeper = Housekeeping(node.outbox, node.client, RetentionPolicy(stream_keep_s=NO_WINDOW))
    fast = node.consumer(group="fast", name="fast-1")
    slow = node.consumer(group="slow", name="slow-1")
    relay = node.relay()
    first = node.publish(1, 2, 3)
    with running(relay, fast, slow):
        wait_until(lambda: _done(node, events, "slow", 3), DEADLINE_S, "both groups read the first events")
    # The slow group stops; the fast one and the publisher go on, and housekeeping trims meanwhile.
    later = node.publish(4, 5, 6)
    with running(relay, fast):
        wait_until(lambda: _done(node, events, "fast", 6), DEADLINE_S, "the fast group read everything")
        keeper.run()
    assert stream_event_ids(node.client, events.stream) == [e.id for e in later]

    with running(node.consumer(group="slow", name="slow-1")):
        wait_until(lambda: _done(node, events, "slow", 6), DEADLINE_S, "the slow group caught up")

    effects = node.effect_counts()
    assert {e.id for e in first + later} == set(effects)
    assert set(effects.values()) == {2}  # once per group, each event


def _done(node: Node, events: Events, group: str, count: int) -> bool:
    info = next(g for g in node.client.xinfo_groups(events.stream) if g["name"].decode() == group)
    return bool(info["pending"] == 0 and info["entries-read"] == count)


def _add(client: redis.Redis, stream: str, count: int) -> list[str]:
    return [add_raw(client, stream, {b"type": b"other", b"event": b"{}"}) for _ in range(count)]


def _ids(client: redis.Redis, stream: str) -> list[str]:
    return [entry_id.decode() for entry_id, _ in cast(list[Any], client.xrange(stream))]


def _read_and_ack(client: redis.Redis, stream: str, group: str, count: int) -> None:
    reply = cast(list[Any], client.xreadgroup(group, "c1", {stream: ">"}, count=count))
    ids = [entry_id for _, items in reply for entry_id, _ in items]
    if ids:
        client.xack(stream, group, *ids)


def _wait_for_redis_time_past(client: redis.Redis, entry_id: str, seconds: float) -> None:
    """Until Redis's clock is ``seconds`` past the entry: windows are measured on Redis's clock."""

    def passed() -> bool:
        now_s, micros = client.time()
        return now_s * 1000 + micros // 1000 > ms_of(entry_id) + seconds * 1000

    wait_until(passed, DEADLINE_S, "Redis's clock moved on")
