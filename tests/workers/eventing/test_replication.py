"""Redis through Sentinel: rows count as sent once a replica holds them, and clients follow a failover."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.sentinel import ReplicatedRedis
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
from workers.eventing import Received, UnitOfWork
from workers.eventing.after_commit import AfterCommitPublisher
from workers.eventing.redis_client import NotReplicated, connect, connect_async
from workers.eventing.settings import Settings, SettingsError


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[ReplicatedRedis]:
    with ReplicatedRedis(tmp_path / "redis") as servers:
        yield servers


@pytest.fixture
def confirmed_node(sqlite_url: str, replicated: ReplicatedRedis, events: Events) -> Iterator[Node]:
    """A service that finds the primary through Sentinel and waits for one replica."""
    service = Node("service", sqlite_url, replicated.target(wait_replicas=1), events)
    yield service
    service.close()


def test_sentinel_settings_turn_waiting_for_a_replica_on_by_default() -> None:
    target = Settings.from_env({"REDIS_SENTINELS": "127.0.0.1:1,127.0.0.1:2", "REDIS_SENTINEL_MASTER": "shop"}).redis

    assert target.sentinels == (("127.0.0.1", 1), ("127.0.0.1", 2))
    assert (target.master, target.wait_replicas) == ("shop", 1)
    assert Settings.from_env({}).redis.wait_replicas == 0


def test_sentinel_addresses_that_are_not_host_and_port_are_refused() -> None:
    with pytest.raises(SettingsError, match="REDIS_SENTINELS"):
        _ = Settings.from_env({"REDIS_SENTINELS": "127.0.0.1", "REDIS_SENTINEL_MASTER": "shop"}).redis
    with pytest.raises(SettingsError, match="REDIS_SENTINEL_MASTER"):
        _ = Settings.from_env({"REDIS_SENTINELS": "127.0.0.1:26379"}).redis
    with pytest.raises(SettingsError, match="REDIS_WAIT_TIMEOUT_MS"):
        _ = Settings.from_env({"REDIS_WAIT_TIMEOUT_MS": "10000"}).redis


def test_the_relay_marks_rows_sent_once_the_replica_holds_them(
    confirmed_node: Node, replicated: ReplicatedRedis, events: Events
) -> None:
    published = confirmed_node.publish(1, 2, 3)

    assert confirmed_node.relay().drain() == 3

    assert confirmed_node.outbox.backlog() == 0
    with replicated.replica.client() as replica:
        assert stream_event_ids(replica, events.stream) == [e.id for e in published]


def test_with_the_replica_not_answering_rows_stay_unsent_and_go_out_when_it_is_back(
    confirmed_node: Node, replicated: ReplicatedRedis, events: Events
) -> None:
    published = confirmed_node.publish(1, 2)
    relay = confirmed_node.relay()
    replicated.replica.pause()
    try:
        with pytest.raises(NotReplicated):
            relay.publish_pending()
        assert confirmed_node.outbox.backlog() == 2
    finally:
        replicated.replica.resume()

    # Back once it has caught up; on a loaded machine that takes longer than one WAIT's second.
    replicated.wait_caught_up()
    assert relay.drain() == 2
    assert confirmed_node.outbox.backlog() == 0
    # The first attempt reached the primary: the copies are there, and inboxes absorb them.
    with replicated.replica.client() as replica:
        assert stream_event_ids(replica, events.stream) == [e.id for e in published] * 2


def test_what_a_consumer_publishes_stays_unsent_while_no_replica_confirms_it(
    confirmed_node: Node, replicated: ReplicatedRedis, events: Events
) -> None:
    def follow(event: Received[Any], uow: UnitOfWork) -> None:
        uow.publish(events.followed(n=event.data.n), aggregate_id=f"followed-{event.data.n}", aggregate_version=1)

    consumer = confirmed_node.consumer({events.happened.TYPE: follow})
    with replicated.primary.client() as primary:
        add_to_stream(primary, events.registry, new_envelope(events.happened(n=1)))
        replicated.replica.pause()
        try:
            with running(consumer, confirmed_node.relay()):
                wait_until(lambda: primary.xlen(events.followed.STREAM), 30, "the follow-up on the primary")
                wait_until(lambda: caught_up(primary, events.stream), 30, "the consumer done with its entry")
                # On the primary, but not on the replica: not sent, whoever published it.
                assert confirmed_node.outbox.backlog() == 1
        finally:
            replicated.replica.resume()

    with running(confirmed_node.relay()):
        wait_until(lambda: confirmed_node.outbox.backlog() == 0, 30, "the row sent once the replica is back")
    with replicated.replica.client() as replica:
        assert replica.xlen(events.followed.STREAM) >= 1


async def test_the_asyncio_client_waits_for_the_replica_too(replicated: ReplicatedRedis, unique: str) -> None:
    client = connect_async(replicated.target(wait_replicas=1))
    try:
        pipe = client.pipeline(transaction=False)
        pipe.xadd(f"{unique}-stream", {"n": "1"})
        assert len(await pipe.execute()) == 1  # the WAIT's own answer is not among the results
        replicated.replica.pause()
        try:
            pipe = client.pipeline(transaction=False)
            pipe.xadd(f"{unique}-stream", {"n": "2"})
            with pytest.raises(NotReplicated):
                await pipe.execute()
        finally:
            replicated.replica.resume()
    finally:
        await client.aclose()


async def test_the_gateways_own_publishing_leaves_unconfirmed_rows_to_the_relay(
    confirmed_node: Node, replicated: ReplicatedRedis, events: Events
) -> None:
    client = connect_async(replicated.target(wait_replicas=1))
    publisher = AfterCommitPublisher(confirmed_node.outbox, client, settle_s=0.2)
    await publisher.start()
    try:
        replicated.replica.pause()
        try:
            published = await asyncio.to_thread(confirmed_node.publish, 1, 2)
            await asyncio.to_thread(wait_until, lambda: publisher.deferring, 10, "the publisher never gave up")
            assert confirmed_node.outbox.backlog() == 2
        finally:
            replicated.replica.resume()
    finally:
        await publisher.stop()
        await client.aclose()

    assert await asyncio.to_thread(confirmed_node.relay().drain) == 2
    with replicated.replica.client() as replica:
        assert set(stream_event_ids(replica, events.stream)) == {e.id for e in published}


def test_a_client_follows_a_failover_to_the_promoted_replica_without_a_restart(
    replicated: ReplicatedRedis, unique: str
) -> None:
    client = connect(replicated.target(wait_replicas=0))
    stream = f"{unique}-stream"
    client.xadd(stream, {"n": "1"})
    old = replicated.primary_port()

    def on_the_replica() -> bool:  # replication is asynchronous: the kill must not beat it
        with replicated.replica.client() as replica:
            return bool(replica.xlen(stream) == 1)

    wait_until(on_the_replica, timeout=10, message="the first entry never reached the replica")
    replicated.primary.kill()
    new = replicated.wait_promoted(old)

    def written() -> bool:
        try:
            client.xadd(stream, {"n": "2"})
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
            return False
        return True

    wait_until(written, timeout=30, message="the client never reached the new primary")
    with replicated.nodes[new].client() as promoted:
        assert promoted.xlen(stream) == 2
    client.close()
