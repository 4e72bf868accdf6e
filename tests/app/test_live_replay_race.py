"""A change that lands while a socket replays reaches it once, in order, and the socket stays open.

The moment is made, not hoped for: the gateway's Redis client is swapped for one whose
first replay read of the stream adds a change to it and waits until the hub has fanned
that change out (so it sits in the socket's mailbox) before the replay goes on. Every
socket kind is tried on both ways out: the direct writer (uvicorn, no deflate) and the
ASGI send path (uvicorn with per-message deflate, which the direct writer leaves alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from websockets.sync.client import ClientConnection, connect

from app.live import feed
from app.live.direct import DirectSender
from app.live.hub import MAILBOX_LIMIT, Hub
from app.read_model.stream_ids import id_key
from tests.app.browser import elements
from tests.app.served import served_storefront
from tests.app.storefront import Placed, Storefront, encoded, eventually, order_snapshot, stock_changed
from tests.support.redis_server import RedisServer
from workers.contracts.orders import OrderConfirmed, OrderDispatched, OrderPlaced, OrderShipped

Fields = dict[Any, Any]


class ChangeDuringReplay(aioredis.Redis):
    """The gateway's client (same pool), but changes land during its first replay read of ``stream``."""

    def arm(self, hub: Hub, stream: str, changes: list[Fields]) -> None:
        self.hub, self.stream, self.changes = hub, stream, changes
        self.added: list[str] = []

    async def xrange(self, name: Any, *args: Any, **kwargs: Any) -> Any:
        entries = await super().xrange(name, *args, **kwargs)
        if name == self.stream and not self.added:
            pipe = self.pipeline(transaction=True)
            for fields in self.changes:
                pipe.xadd(self.stream, fields)
            self.added += [raw.decode() if isinstance(raw, bytes) else str(raw) for raw in await pipe.execute()]
            # Until the hub has fanned them out, they are not yet "during the replay".
            while id_key(self.hub.last_ids[self.stream]) < id_key(self.added[-1]):
                await asyncio.sleep(0.005)
        return entries


@contextlib.contextmanager
def change_during_replay(storefront: Storefront, stream: str, *changes: Fields) -> Iterator[list[str]]:
    """For the block, the next socket's replay of ``stream`` sees ``changes`` added mid-way (their ids are yielded)."""
    gw = storefront.gateway
    original = gw.redis
    hooked = ChangeDuringReplay(connection_pool=original.connection_pool)
    hooked.arm(gw.hub, stream, list(changes))
    gw.redis = hooked
    try:
        yield hooked.added
    finally:
        gw.redis = original


@dataclass(frozen=True)
class Race:
    """One socket kind: where it connects, and the changes before, during and after its replay."""

    path: str
    stream: str
    missed: str  # on the stream before the socket opened: replayed
    during: Fields  # added while the replay runs
    later: Callable[[], str]  # added once the socket is live: it must still get it
    cookie: str = ""


def stream_id_of(stream: str, message: str) -> str:
    """The stream position a message brings its page or client to."""
    if message.startswith("{"):
        return str(json.loads(message)["stream_id"])
    return str(elements(message).attrs[f"cursor-{stream}"]["data-after"])


def stock_race(storefront: Storefront, path: str) -> Race:
    product, other = storefront.add_product(on_hand=10), storefront.add_product(on_hand=10)
    rendered_at = storefront.http.get("/api/products").json()["stream_id"]
    missed = storefront.change_stock(product, on_hand=10, reserved=1, version=2, cause="reserve", delta_available=-1)
    figures = stock_changed(other, on_hand=10, reserved=2, cause="reserve")
    during = encoded(figures, aggregate_id=str(other.id), aggregate_version=2)
    return Race(
        path=path.format(after=rendered_at),
        stream="stock",
        missed=missed.entry_id,
        during={**during[1]},
        later=lambda: storefront.change_stock(product, on_hand=12, version=3, delta_on_hand=2).entry_id,
    )


def order_race(storefront: Storefront, _path: str) -> Race:
    placed: Placed = storefront.place_order(storefront.add_product())
    placed_event = storefront.announce_order(OrderPlaced, placed, version=1)
    missed = storefront.announce_order(OrderConfirmed, placed, version=2)
    during = encoded(order_snapshot(OrderDispatched, placed), aggregate_id=placed.order_id, aggregate_version=3)
    return Race(
        path=f"/ws/orders/{placed.order_id}?token={placed.token}&after={placed_event.entry_id}",
        stream="orders",
        missed=missed.entry_id,
        during=during[1],
        later=lambda: storefront.announce_order(OrderShipped, placed, version=4).entry_id,
    )


def console_race(storefront: Storefront, _path: str) -> Race:
    product, other = storefront.add_product(on_hand=10), storefront.add_product(on_hand=10)
    caught_up(storefront, "orders")  # the console replays orders too: none of earlier tests' may be left
    storefront.http.cookies.clear()
    storefront.browser_login()
    page = elements(storefront.http.get("/warehouse").text).attrs
    stock_at, orders_at = page["cursor-stock"]["data-after"], page["cursor-orders"]["data-after"]
    missed = storefront.change_stock(product, on_hand=9, version=2, cause="dispatch", delta_on_hand=-1)
    during = encoded(stock_changed(other, on_hand=11, delta_on_hand=1), aggregate_id=str(other.id), aggregate_version=2)
    session = "; ".join(f"{name}={value}" for name, value in storefront.http.cookies.items())
    return Race(
        path=f"/live/console?stock={stock_at}&orders={orders_at}",
        stream="stock",
        missed=missed.entry_id,
        during=during[1],
        later=lambda: storefront.change_stock(product, on_hand=8, version=3, cause="dispatch").entry_id,
        cookie=session,
    )


def caught_up(storefront: Storefront, stream: str) -> None:
    """Wait until the read model reflects everything on ``stream``."""
    newest = cast(list[Any], storefront.redis.xrevrange(stream, count=1))
    if newest:
        last = id_key(newest[0][0].decode())
        eventually(lambda: id_key(storefront.position(stream)) >= last, f"the read model to catch up on {stream}")


RACES = {
    "stock": (stock_race, "/ws/stock?after={after}"),
    "storefront": (stock_race, "/live/shop?after={after}"),
    "order": (order_race, ""),
    "console": (console_race, ""),
}


@dataclass(frozen=True)
class Served:
    way: str  # "direct" (the hub writes frames) or "asgi" (a task per socket sends them)
    base: str
    storefront: Storefront


@pytest.fixture(scope="module", params=["direct", "asgi"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A gateway in uvicorn per way out, shared by the module (tests use their own products and orders)."""
    data_dir = tmp_path_factory.mktemp(f"served-{request.param}")
    server = RedisServer(data_dir / "redis")
    server.start()
    try:
        with served_storefront(server.url, data_dir, deflate=request.param == "asgi") as (storefront, base):
            yield Served(request.param, base, storefront)
    finally:
        server.kill()


@pytest.fixture
def attached(monkeypatch: pytest.MonkeyPatch) -> list[DirectSender | None]:
    """What ``DirectSender.attach`` answered for each socket (None: the ASGI send path serves it)."""
    answers: list[DirectSender | None] = []
    original = DirectSender.attach

    def attach(websocket: Any) -> DirectSender | None:
        answers.append(original(websocket))
        return answers[-1]

    monkeypatch.setattr(DirectSender, "attach", staticmethod(attach))
    return answers


def receive(socket: ClientConnection) -> str:
    return str(socket.recv(timeout=10))


@pytest.mark.parametrize("replay_reads_it_too", [False, True], ids=["live-only", "also-replayed"])
@pytest.mark.parametrize("kind", list(RACES))
def test_a_change_during_the_replay_is_sent_once_in_order_and_the_socket_stays_open(
    served: Served,
    attached: list[DirectSender | None],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    replay_reads_it_too: bool,
) -> None:
    storefront = served.storefront
    if replay_reads_it_too:
        # One entry a page: the replay reads on past the change that landed, so the
        # socket's mailbox holds a copy the replay has already sent.
        monkeypatch.setattr(feed, "REPLAY_PAGE", 1)
    make, path = RACES[kind]
    race = make(storefront, path)
    headers = {"Cookie": race.cookie} if race.cookie else {}
    compression = "deflate" if served.way == "asgi" else None

    url = f"ws://{served.base}{race.path}"
    with (
        change_during_replay(storefront, race.stream, race.during) as added,
        connect(url, compression=compression, additional_headers=headers) as socket,
    ):
        first, second = receive(socket), receive(socket)
        eventually(lambda: attached, "the socket to go live")
        later = race.later()
        third = receive(socket)

    assert (attached[0] is not None) == (served.way == "direct")
    assert [stream_id_of(race.stream, m) for m in (first, second, third)] == [race.missed, added[0], later]


def test_more_changes_during_the_replay_than_a_mailbox_holds_are_read_on_from_the_stream(
    served: Served, attached: list[DirectSender | None]
) -> None:
    storefront = served.storefront
    product = storefront.add_product(on_hand=10)
    rendered_at = storefront.http.get("/api/products").json()["stream_id"]
    missed = storefront.change_stock(product, on_hand=11, version=2, delta_on_hand=1)
    burst = [
        encoded(
            stock_changed(product, on_hand=11 + n, delta_on_hand=1),
            aggregate_id=str(product.id),
            aggregate_version=2 + n,
        )[1]
        for n in range(1, MAILBOX_LIMIT + 20)
    ]
    compression = "deflate" if served.way == "asgi" else None

    with (
        change_during_replay(storefront, "stock", *burst) as added,
        connect(f"ws://{served.base}/ws/stock?after={rendered_at}", compression=compression) as socket,
    ):
        received = [json.loads(receive(socket))["stream_id"] for _ in range(1 + len(burst))]
        eventually(lambda: attached, "the socket to go live")
        later = storefront.change_stock(product, on_hand=99, version=MAILBOX_LIMIT + 30, delta_on_hand=1)
        last = json.loads(receive(socket))["stream_id"]

    assert received == [missed.entry_id, *added]  # each once, in order, and the socket kept open
    assert last == later.entry_id
