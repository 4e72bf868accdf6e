"""Pre-framed push straight to uvicorn's transports: the path ``python -m app`` serves sockets on.

The TestClient speaks ASGI only, so this path needs the real server: uvicorn with its
sans-I/O websockets protocol in a thread, and a real WebSocket client.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from websockets.sync.client import ClientConnection, connect

from app.live.direct import DirectSender, text_frame
from app.read_model.queries import Product
from tests.app.served import served_storefront
from tests.app.storefront import Storefront, eventually
from tests.support.redis_server import RedisServer


@pytest.mark.parametrize(("size", "header"), [(0, b"\x81\x00"), (125, b"\x81\x7d"), (126, b"\x81\x7e\x00\x7e")])
def test_a_short_text_frame_has_the_length_in_its_header(size: int, header: bytes) -> None:
    assert text_frame(b"x" * size) == header + b"x" * size


def test_a_long_text_frame_has_a_64_bit_length() -> None:
    frame = text_frame(b"x" * 70_000)

    assert frame[:2] == b"\x81\x7f"
    assert struct.unpack(">Q", frame[2:10]) == (70_000,)
    assert len(frame) == 10 + 70_000


@pytest.fixture
def direct_sends(monkeypatch: pytest.MonkeyPatch) -> list[DirectSender | None]:
    """What ``DirectSender.attach`` answered for each socket (None: served through ASGI instead)."""
    answers: list[DirectSender | None] = []
    original = DirectSender.attach

    def attach(websocket: Any) -> DirectSender | None:
        answers.append(original(websocket))
        return answers[-1]

    monkeypatch.setattr(DirectSender, "attach", staticmethod(attach))
    return answers


def receive(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(socket.recv(timeout=10))
    return message


def reserve(storefront: Storefront, product: Product, reserved: int) -> str:
    figures = {"on_hand": 10, "reserved": reserved, "cause": "reserve", "delta_available": -1}
    return storefront.change_stock(product, version=reserved + 1, **figures).entry_id


def stream_id(storefront: Storefront) -> str:
    return str(storefront.http.get("/api/products").json()["stream_id"])


def test_a_socket_on_uvicorn_replays_then_gets_live_changes_written_directly(
    redis_server: RedisServer, tmp_path: Path, direct_sends: list[DirectSender | None]
) -> None:
    with served_storefront(redis_server.url, tmp_path) as (storefront, base):
        product = storefront.add_product()
        rendered_at = stream_id(storefront)
        missed = reserve(storefront, product, 1)

        with connect(f"ws://{base}/ws/stock?after={rendered_at}", compression=None) as socket:
            replayed = receive(socket)
            eventually(lambda: direct_sends, "the socket to go live")
            live = [reserve(storefront, product, 2), reserve(storefront, product, 3)]
            pushed = [receive(socket), receive(socket)]

    assert direct_sends[0] is not None  # the hub wrote the frames, not a task per socket
    assert replayed["stream_id"] == missed
    assert [(m["stream_id"], m["available"]) for m in pushed] == [(live[0], 8), (live[1], 7)]


def test_the_shop_socket_on_uvicorn_pushes_html_fragments(redis_server: RedisServer, tmp_path: Path) -> None:
    with served_storefront(redis_server.url, tmp_path) as (storefront, base):
        product = storefront.add_product()
        rendered_at = stream_id(storefront)

        with connect(f"ws://{base}/live/shop?after={rendered_at}", compression=None) as socket:
            change = reserve(storefront, product, 4)
            html = str(socket.recv(timeout=10))

    assert f'<b id="available-{product.id}">6</b>' in html
    assert f'data-after="{change}"' in html


def test_the_installed_uvicorn_has_what_the_direct_writer_needs(redis_server: RedisServer, tmp_path: Path) -> None:
    """Not a skip: without this, every socket would quietly fall back to a task per socket."""
    lacking: list[list[str]] = []
    app_send: list[Any] = []

    def look(app: ASGIApp) -> ASGIApp:
        async def looked(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "websocket":
                app_send.append(send)
            await app(scope, receive, send)

        return looked

    with (
        served_storefront(redis_server.url, tmp_path, wrap=look) as (_storefront, base),
        connect(f"ws://{base}/ws/stock", compression=None) as socket,
    ):
        eventually(lambda: app_send, "the socket to reach the app")
        socket.ping().wait(timeout=10)  # the handshake is done: the connection is open
        lacking.append(DirectSender.missing(getattr(app_send[0], "__self__", None)))

    assert lacking == [[]], (
        f"uvicorn {uvicorn.__version__} lacks what app/live/direct.py writes through: {lacking[0]}. "
        "Pin uvicorn in pyproject.toml to a range the direct writer is tested with, or update it."
    )


NEEDED = ["close_sent", "disconnected", "writable", "conn", "transport"]


class WebSocketsSansIOProtocol:
    """A server connection like uvicorn's (same name) but lacking one attribute, as a future uvicorn might.

    Everything else, and every message, goes to the real connection underneath.
    """

    def __init__(self, real: Any, lacking: str) -> None:
        self._real, self._lacking = real, lacking

    def __getattr__(self, name: str) -> Any:
        if name == self._lacking:
            raise AttributeError(name)
        return getattr(self._real, name)

    async def send(self, message: Message) -> None:
        await self._real.send(message)


def lacking(name: str) -> Callable[[ASGIApp], ASGIApp]:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def changed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "websocket":
                send = WebSocketsSansIOProtocol(getattr(send, "__self__", None), name).send
            await app(scope, receive, send)

        return changed

    return wrap


@pytest.mark.parametrize("name", NEEDED)
def test_a_connection_lacking_what_the_direct_writer_uses_is_served_through_asgi(
    redis_server: RedisServer, tmp_path: Path, direct_sends: list[DirectSender | None], name: str
) -> None:
    with served_storefront(redis_server.url, tmp_path, wrap=lacking(name)) as (storefront, base):
        product = storefront.add_product()
        rendered_at = stream_id(storefront)
        missed = reserve(storefront, product, 1)

        with connect(f"ws://{base}/ws/stock?after={rendered_at}", compression=None) as socket:
            replayed = receive(socket)
            eventually(lambda: direct_sends, "the socket to go live")
            live = [reserve(storefront, product, 2), reserve(storefront, product, 3)]
            pushed = [receive(socket), receive(socket)]
        alive = storefront.gateway.hub.readers_alive()

    assert direct_sends == [None]  # attach saw what it lacks and left the socket to the ASGI path
    assert [m["stream_id"] for m in (replayed, *pushed)] == [missed, *live]
    assert alive
