"""Heartbeats: a service reports its outbox through Redis, and operators read it from there."""

from __future__ import annotations

import json
import threading

from tests.support.waiting import wait_until
from tests.workers.eventing.support import Node
from workers.eventing import heartbeat
from workers.eventing.heartbeat import beat, read_heartbeats
from workers.eventing.inspection import service_figures


def test_a_heartbeat_carries_the_outbox_backlog_and_the_age_of_its_oldest_row(sqlite_node: Node) -> None:
    node = sqlite_node
    node.publish(1, 2, 3)

    sent = beat(node.client, node.outbox, "service", "replica-1")

    [seen] = read_heartbeats(node.client, ["service"])["service"]
    assert seen == sent
    assert (seen.outbox_backlog, seen.consumer) == (3, "replica-1")
    assert seen.oldest_unsent_age_s is not None and seen.oldest_unsent_age_s >= 0


def test_an_empty_outbox_has_no_oldest_row(sqlite_node: Node) -> None:
    sent = beat(sqlite_node.client, sqlite_node.outbox, "service", "replica-1")

    assert (sent.outbox_backlog, sent.oldest_unsent_age_s) == (0, None)


def test_a_service_never_heard_from_has_no_figures(sqlite_node: Node) -> None:
    [figures] = service_figures(sqlite_node.client, ["silent"])

    assert (figures.name, figures.outbox_backlog, figures.heartbeat_age_s) == ("silent", None, None)
    assert figures.replicas == ()


def test_every_replica_is_listed_and_the_newest_speaks_for_the_service(sqlite_node: Node) -> None:
    node = sqlite_node
    older = beat(node.client, node.outbox, "service", "replica-1")
    node.publish(1)
    newer = beat(node.client, node.outbox, "service", "replica-2")

    [figures] = service_figures(node.client, ["service"], now=newer.at + 2)

    assert [r.consumer for r in figures.replicas] == ["replica-2", "replica-1"]
    assert figures.outbox_backlog == 1
    assert figures.heartbeat_age_s == 2
    assert figures.replicas[1].heartbeat_age_s == newer.at + 2 - older.at


def test_a_replica_silent_for_long_is_forgotten_by_the_next_heartbeat(sqlite_node: Node) -> None:
    node = sqlite_node
    gone = {"service": "service", "consumer": "gone", "outbox_backlog": 0, "oldest_unsent_age_s": None, "at": 1.0}
    node.client.hset(heartbeat.key("service"), "gone", json.dumps(gone))

    beat(node.client, node.outbox, "service", "alive")

    assert [h.consumer for h in read_heartbeats(node.client, ["service"])["service"]] == ["alive"]


def test_junk_under_the_key_is_not_a_heartbeat(sqlite_node: Node) -> None:
    sqlite_node.client.hset(heartbeat.key("service"), "junk", b"not json")

    assert read_heartbeats(sqlite_node.client, ["service"]) == {"service": []}


def test_the_heartbeat_thread_beats_until_stopped(sqlite_node: Node) -> None:
    node, stop = sqlite_node, threading.Event()
    thread = heartbeat.start(node.client, node.outbox, "service", "replica-1", stop, interval_s=0.05)
    try:
        node.publish(1, 2)
        wait_until(
            lambda: [h.outbox_backlog for h in read_heartbeats(node.client, ["service"])["service"]] == [2],
            10,
            "a heartbeat that saw both rows",
        )
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
