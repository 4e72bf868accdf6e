"""The live hub: bounded mailboxes per socket, and one XREAD reader per stream fanning out to them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis.asyncio as aioredis

from app.live.direct import DirectSender
from app.live.hub import Change, Hub, Mailbox, parse_entry
from app.read_model.stream_ids import id_key
from tests.support.redis_server import RedisServer
from workers.contracts import REGISTRY
from workers.contracts.stock import StockChanged, StockDelta
from workers.eventing import Envelope


def stock(entry_id: str, product_id: int, on_hand: int, stream: str = "stock") -> Change:
    ms, seq = id_key(entry_id)
    event = {
        "id": f"event-{entry_id}",
        "type": "stock.changed",
        "aggregate_id": str(product_id),
        "aggregate_version": ms * 1000 + seq,  # later entries are newer snapshots
        "data": {"product_id": product_id, "on_hand": on_hand},
    }
    return Change(stream, entry_id, event, id_key(entry_id))


def stock_entry(product_id: int, on_hand: int, version: int) -> dict[bytes, bytes]:
    """A real ``stock.changed`` entry, as the warehouse's relay writes it."""
    data = StockChanged(
        product_id=product_id,
        sku=f"SKU-{product_id}",
        on_hand=on_hand,
        reserved=0,
        available=on_hand,
        delta=StockDelta(on_hand=1, available=1),
        cause="restock",
    )
    envelope = Envelope.wrap(
        data, source="warehouse", aggregate_id=str(product_id), aggregate_version=version, correlation_id="r-1"
    )
    return REGISTRY.encode(envelope)


class FakeSocket(DirectSender):
    """A socket the hub writes frames to; ``room`` frames fit in its buffer."""

    def __init__(self, room: int = 100) -> None:
        super().__init__(protocol=None)
        self.frames: list[bytes] = []
        self.room = room

    def write(self, frame: bytes) -> bool:
        if len(self.frames) >= self.room:
            return False
        self.frames.append(frame)
        return True


def frame(change: Change) -> bytes:
    return change.entry_id.encode()


def by_product(change: Change) -> Any:
    return change.data["product_id"]


async def test_a_mailbox_hands_over_every_change_in_order() -> None:
    mailbox = Mailbox(frozenset({"stock"}))
    changes = [stock("1-0", 1, 5), stock("2-0", 1, 4), stock("3-0", 2, 9)]

    for change in changes:
        mailbox.offer(change)

    assert await mailbox.take() == changes


async def test_a_coalescing_mailbox_keeps_only_the_newest_change_per_key() -> None:
    mailbox = Mailbox(frozenset({"stock"}), coalesce_key=by_product)

    for change in [stock("1-0", 1, 5), stock("2-0", 2, 9), stock("3-0", 1, 4), stock("4-0", 1, 3)]:
        mailbox.offer(change)

    # Product 1's newest figures moved behind product 2's: the order of the newest changes is kept.
    assert [(c.entry_id, c.data["on_hand"]) for c in await mailbox.take()] == [("2-0", 9), ("4-0", 3)]


async def test_a_burst_for_one_key_never_overflows_a_coalescing_mailbox() -> None:
    mailbox = Mailbox(frozenset({"stock"}), coalesce_key=by_product, limit=3)

    for n in range(100):
        mailbox.offer(stock(f"{n + 1}-0", 1, n))

    assert not mailbox.overflowed
    assert [c.data["on_hand"] for c in await mailbox.take()] == [99]


async def test_a_mailbox_that_falls_too_far_behind_is_marked_and_emptied() -> None:
    mailbox = Mailbox(frozenset({"stock"}), limit=3)

    for n in range(4):
        mailbox.offer(stock(f"{n + 1}-0", n + 1, 1))
    mailbox.offer(stock("9-0", 9, 1))  # ignored: the socket is about to be dropped

    assert mailbox.overflowed
    assert await mailbox.take() == []


async def test_a_mailbox_ignores_what_its_socket_does_not_follow() -> None:
    mailbox = Mailbox(frozenset({"stock"}), accepts=lambda c: c.data["product_id"] == 2)

    mailbox.offer(stock("1-0", 1, 5))
    mailbox.offer(stock("2-0", 2, 5))

    assert [c.entry_id for c in await mailbox.take()] == ["2-0"]


async def test_changes_the_replay_already_sent_are_dropped_waiting_or_arriving() -> None:
    mailbox = Mailbox(frozenset({"stock"}))
    mailbox.offer(stock("1-0", 1, 5))
    mailbox.offer(stock("2-0", 1, 4))

    mailbox.skip_through({"stock": "2-0"})
    mailbox.offer(stock("2-0", 1, 4))  # a reader behind the replay delivers it late
    mailbox.offer(stock("3-0", 1, 3))

    assert [c.entry_id for c in await mailbox.take()] == ["3-0"]


async def test_a_direct_mailbox_writes_what_waited_then_each_change_at_once() -> None:
    mailbox = Mailbox(frozenset({"stock"}))
    socket = FakeSocket()
    mailbox.offer(stock("1-0", 1, 5))

    mailbox.go_direct(socket, frame)
    mailbox.offer(stock("2-0", 1, 4))

    assert socket.frames == [b"1-0", b"2-0"]
    assert not mailbox.overflowed


async def test_a_direct_socket_whose_buffer_is_full_is_marked_a_laggard() -> None:
    mailbox = Mailbox(frozenset({"stock"}))
    socket = FakeSocket(room=1)
    mailbox.go_direct(socket, frame)

    mailbox.offer(stock("1-0", 1, 5))
    mailbox.offer(stock("2-0", 1, 4))
    mailbox.offer(stock("3-0", 1, 3))

    assert socket.frames == [b"1-0"]
    assert mailbox.overflowed
    assert await asyncio.wait_for(mailbox.take(), 5) == []  # wakes the task that closes the socket


async def test_take_waits_for_the_next_change() -> None:
    mailbox = Mailbox(frozenset({"stock"}))
    waiting = asyncio.create_task(mailbox.take())
    await asyncio.sleep(0)
    assert not waiting.done()

    mailbox.offer(stock("1-0", 1, 5))

    assert [c.entry_id for c in await asyncio.wait_for(waiting, 5)] == ["1-0"]


async def test_the_hub_delivers_a_change_to_the_mailboxes_of_its_stream_only() -> None:
    hub = Hub("redis://unused", ["stock", "orders"])
    on_stock, on_orders = hub.subscribe(["stock"]), hub.subscribe(["orders"])
    gone = hub.subscribe(["stock"])
    hub.unsubscribe(gone)

    hub.publish(stock("1-0", 1, 5))

    assert hub.subscribers == 2
    assert [c.entry_id for c in await on_stock.take()] == ["1-0"]
    assert not on_orders._items and not gone._items


def test_an_entry_is_read_as_a_change() -> None:
    change = parse_entry("stock", b"5-1", stock_entry(3, on_hand=7, version=2))

    assert change is not None
    assert (change.stream, change.entry_id, change.position) == ("stock", "5-1", (5, 1))
    assert (change.type, change.data["product_id"], change.data["on_hand"]) == ("stock.changed", 3, 7)
    assert (change.aggregate, change.version) == (("stock", "3"), 2)


def test_an_entry_that_breaks_its_contract_is_never_pushed() -> None:
    entry = stock_entry(3, on_hand=7, version=2)
    event = json.loads(entry[b"event"])
    event["data"]["on_hand"] = -1  # a consumer would dead-letter it; no browser may see it

    assert parse_entry("stock", b"5-1", {b"type": b"stock.changed", b"event": json.dumps(event).encode()}) is None


async def test_a_copy_of_an_older_snapshot_is_not_pushed_again() -> None:
    hub = Hub("redis://unused", ["stock"])
    mailbox = hub.subscribe(["stock"])
    newer, older = (
        parse_entry("stock", b"9-0", stock_entry(3, 5, 4)),
        parse_entry("stock", b"10-0", stock_entry(3, 9, 3)),
    )
    assert newer is not None and older is not None

    hub.publish(newer)
    hub.publish(older)  # e.g. a dead letter retried long after

    assert [c.data["on_hand"] for c in await mailbox.take()] == [5]


@pytest.mark.parametrize(
    "fields",
    [{}, {b"event": b"{not json"}, {b"event": b"[1, 2]"}, {b"event": b"\xff"}],
    ids=["no-event", "broken-json", "not-an-object", "not-utf8"],
)
def test_an_unreadable_entry_is_skipped(fields: dict[bytes, bytes]) -> None:
    assert parse_entry("stock", b"5-1", fields) is None


def test_a_change_without_data_has_empty_data() -> None:
    assert Change("stock", "1-0", {"type": "stock.changed", "data": "oops"}).data == {}


async def _added(client: aioredis.Redis, stream: str, fields: dict[bytes, bytes]) -> str:
    entry_id = await client.xadd(stream, fields)  # type: ignore[arg-type]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


async def _ready(hub: Hub, stream: str) -> None:
    while stream not in hub.last_ids:
        await asyncio.sleep(0.01)


async def test_the_hub_follows_a_stream_from_its_end_and_across_a_redis_restart(redis_server: RedisServer) -> None:
    client = aioredis.Redis.from_url(redis_server.url)
    before = await _added(client, "stock", stock_entry(1, on_hand=1, version=1))
    hub = Hub(redis_server.url, ["stock"])
    await hub.start()
    try:
        await asyncio.wait_for(_ready(hub, "stock"), 5)
        assert hub.last_ids["stock"] == before  # what was there before it started is not pushed
        mailbox = hub.subscribe(["stock"])

        first = await _added(client, "stock", stock_entry(1, on_hand=2, version=2))
        assert [c.entry_id for c in await asyncio.wait_for(mailbox.take(), 5)] == [first]

        redis_server.kill()
        redis_server.restart()
        await client.connection_pool.disconnect()  # the test's own connection died with the server
        second = await _added(client, "stock", stock_entry(1, on_hand=3, version=3))
        assert [c.entry_id for c in await asyncio.wait_for(mailbox.take(), 10)] == [second]
    finally:
        await hub.stop()
        await client.aclose()


async def test_a_change_the_replay_already_sent_does_not_wake_the_socket() -> None:
    mailbox = Mailbox(frozenset({"stock"}))
    mailbox.offer(stock("1-0", 1, 5))  # arrives while the replay runs, which sends it too

    mailbox.skip_through({"stock": "1-0"})
    waiting = asyncio.create_task(mailbox.take())
    await asyncio.sleep(0)
    mailbox.offer(stock("2-0", 1, 4))

    assert [c.entry_id for c in await asyncio.wait_for(waiting, 5)] == ["2-0"]  # not an empty wake-up
    assert not mailbox.overflowed


async def test_a_change_that_waited_through_the_replay_goes_direct_without_marking_a_laggard() -> None:
    mailbox = Mailbox(frozenset({"stock"}))
    socket = FakeSocket()
    mailbox.offer(stock("1-0", 1, 5))
    mailbox.offer(stock("2-0", 1, 4))  # came in during the replay, after what it sent

    mailbox.skip_through({"stock": "1-0"})
    mailbox.go_direct(socket, frame)
    watching = asyncio.create_task(mailbox.undirected())
    await asyncio.sleep(0)

    assert socket.frames == [b"2-0"]
    assert not mailbox.overflowed and not watching.done()
    watching.cancel()


class BrokenConnection:
    """A connection that is not what the direct writer expects: it has no transport at all."""

    close_sent = disconnected = False
    transport = None


async def test_a_direct_write_that_fails_falls_back_to_a_task_and_loses_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(DirectSender, "disabled", False)
    mailbox = Mailbox(frozenset({"stock"}))
    mailbox.go_direct(DirectSender(BrokenConnection()), frame)

    mailbox.offer(stock("1-0", 1, 5))
    mailbox.offer(stock("2-0", 1, 4))

    await asyncio.wait_for(mailbox.undirected(), 5)
    assert not mailbox.overflowed  # not a laggard: its task sends through ASGI from now on
    assert [c.entry_id for c in await mailbox.take()] == ["1-0", "2-0"]
    assert DirectSender.disabled  # and later sockets are not written to directly either


async def test_one_failing_socket_does_not_stop_the_fan_out(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_change: Change) -> bool:
        raise AttributeError("a socket's filter broke")

    hub = Hub("redis://unused", ["stock"])
    failing, before, after = hub.subscribe(["stock"], broken), hub.subscribe(["stock"]), hub.subscribe(["stock"])

    hub.publish(stock("1-0", 1, 5))

    assert [c.entry_id for c in await before.take()] == ["1-0"]
    assert [c.entry_id for c in await after.take()] == ["1-0"]
    assert failing.overflowed  # dropped: its browser reconnects
    assert any(r.exc_info and r.exc_info[0] is AttributeError for r in caplog.records)


class FailsOnce(Hub):
    """A hub whose fan-out raises (as a bug would) the first time it sees a change."""

    failed = False

    def publish(self, change: Change) -> None:
        if not self.failed:
            self.failed = True
            raise AttributeError("'NoneType' object has no attribute 'is_set'")
        super().publish(change)


async def test_a_reader_that_hits_any_exception_logs_it_and_goes_on_from_its_last_id(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = aioredis.Redis.from_url(redis_server.url)
    hub = FailsOnce(redis_server.url, ["stock"])
    await hub.start()
    try:
        await asyncio.wait_for(_ready(hub, "stock"), 5)
        mailbox = hub.subscribe(["stock"])

        first = await _added(client, "stock", stock_entry(1, on_hand=2, version=2))
        second = await _added(client, "stock", stock_entry(1, on_hand=3, version=3))
        taken: list[str] = []
        while len(taken) < 2:
            taken += [c.entry_id for c in await asyncio.wait_for(mailbox.take(), 10)]

        assert taken == [first, second]  # the change it failed on came again: nothing missed
        assert hub.readers_alive()
        [failure] = [r for r in caplog.records if r.name == "app.live.hub" and r.exc_info]
        assert failure.exc_info is not None and failure.exc_info[0] is AttributeError
    finally:
        await hub.stop()
        await client.aclose()


async def test_a_reader_that_ended_is_reported_dead(redis_server: RedisServer) -> None:
    hub = Hub(redis_server.url, ["stock", "orders"])
    await hub.start()
    try:
        await asyncio.wait_for(_ready(hub, "orders"), 5)
        assert hub.readers_alive()

        # Ended as if it had died of something no supervisor catches. Cancelled until it ends:
        # a cancel landing inside redis-py's timeout handling can be swallowed (see Hub.stop).
        reader, deadline = hub._tasks[0], asyncio.get_running_loop().time() + 5
        while not reader.done() and asyncio.get_running_loop().time() < deadline:
            reader.cancel()
            await asyncio.wait([reader], timeout=0.1)

        assert not hub.readers_alive()
        assert hub.dead_readers() == ["stock"]
    finally:
        await hub.stop()
    assert hub.readers_alive()  # a hub that stops is not a dead reader


async def test_a_mailbox_that_overflows_while_its_socket_replays_asks_for_more_replay() -> None:
    mailbox = Mailbox(frozenset({"stock"}), limit=3, replaying=True)

    for n in range(5):
        mailbox.offer(stock(f"{n + 1}-0", n + 1, 1))  # all on the stream, after the replay so far

    assert not mailbox.overflowed  # not dropped: the replay reads them from the stream instead
    assert mailbox.lost_during_replay()
    assert not mailbox.lost_during_replay()  # told once
    mailbox.offer(stock("6-0", 6, 1))
    mailbox.skip_through({"stock": "5-0"})
    assert [c.entry_id for c in await mailbox.take()] == ["6-0"]
