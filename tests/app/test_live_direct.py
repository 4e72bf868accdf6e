"""Pre-framed push straight to uvicorn's transports: the path ``python -m app`` serves sockets on.

The TestClient speaks ASGI only, so this path needs the real server: uvicorn with its
sans-I/O websockets protocol in a thread, and a real WebSocket client.
"""

from __future__ import annotations

import contextlib
import json
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis
import uvicorn
from websockets.sync.client import ClientConnection, connect

from app.checkout import Product
from app.live.direct import DirectSender, text_frame
from app.main import create_app
from tests.app.storefront import Projector, encoded, eventually, new_product, stock_changed
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer
from workers.contracts import REGISTRY
from workers.contracts.catalog import ProductCreated
from workers.eventing import EventData, Settings


@pytest.mark.parametrize(("size", "header"), [(0, b"\x81\x00"), (125, b"\x81\x7d"), (126, b"\x81\x7e\x00\x7e")])
def test_a_short_text_frame_has_the_length_in_its_header(size: int, header: bytes) -> None:
    assert text_frame(b"x" * size) == header + b"x" * size


def test_a_long_text_frame_has_a_64_bit_length() -> None:
    frame = text_frame(b"x" * 70_000)

    assert frame[:2] == b"\x81\x7f"
    assert struct.unpack(">Q", frame[2:10]) == (70_000,)
    assert len(frame) == 10 + 70_000


class Served:
    """The gateway behind uvicorn as ``python -m app`` configures it, and the upstream streams."""

    def __init__(self, redis_url: str, port: int) -> None:
        self.base = f"127.0.0.1:{port}"
        self.http = httpx2.Client(base_url=f"http://{self.base}")
        self.redis = redis.Redis.from_url(redis_url)

    def publish(self, data: EventData, version: int = 1) -> str:
        envelope, fields = encoded(data, aggregate_id=str(getattr(data, "product_id", "x")), aggregate_version=version)
        entry_id = self.redis.xadd(REGISTRY.stream_of(envelope.type), fields)
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def add_product(self) -> Product:
        product = new_product()
        created = ProductCreated(
            product_id=product.id, sku=product.sku, name=product.name, description="", price_cents=100, opening_stock=10
        )
        self.publish(created)
        self.publish(stock_changed(product, on_hand=10, delta_on_hand=10))
        eventually(lambda: product.id in self.product_ids(), "the product in the read model")
        return product

    def product_ids(self) -> set[int]:
        return {p["id"] for p in self.http.get("/api/products").json()["products"] if p["on_hand"] == 10}

    def stream_id(self) -> str:
        stream_id: str = self.http.get("/api/products").json()["stream_id"]
        return stream_id

    def reserve(self, product: Product, reserved: int) -> str:
        return self.publish(
            stock_changed(product, on_hand=10, reserved=reserved, cause="reserve"), version=reserved + 1
        )

    def close(self) -> None:
        self.http.close()
        self.redis.close()


@contextlib.contextmanager
def served(redis_url: str, data_dir: Path) -> Iterator[Served]:
    """Run the gateway in uvicorn (lifespan and all) in a thread for the block, and its projector."""
    port = free_port()
    settings = Settings.from_env({"DATA_DIR": str(data_dir), "REDIS_URL": redis_url})
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        loop="asyncio",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    gateway = Served(redis_url, port)
    projector = Projector(settings)
    projector.start()
    try:
        eventually(lambda: server.started, "uvicorn to start")
        yield gateway
    finally:
        gateway.close()
        server.should_exit = True
        thread.join(timeout=10)
        projector.close()


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


def test_a_socket_on_uvicorn_replays_then_gets_live_changes_written_directly(
    redis_server: RedisServer, tmp_path: Path, direct_sends: list[DirectSender | None]
) -> None:
    with served(redis_server.url, tmp_path) as gateway:
        product = gateway.add_product()
        rendered_at = gateway.stream_id()
        missed = gateway.reserve(product, 1)

        with connect(f"ws://{gateway.base}/ws/stock?after={rendered_at}", compression=None) as socket:
            replayed = receive(socket)
            eventually(lambda: direct_sends, "the socket to go live")
            live = [gateway.reserve(product, 2), gateway.reserve(product, 3)]
            pushed = [receive(socket), receive(socket)]

    assert direct_sends[0] is not None  # the hub wrote the frames, not a task per socket
    assert replayed["stream_id"] == missed
    assert [(m["stream_id"], m["available"]) for m in pushed] == [(live[0], 8), (live[1], 7)]


def test_the_shop_socket_on_uvicorn_pushes_html_fragments(redis_server: RedisServer, tmp_path: Path) -> None:
    with served(redis_server.url, tmp_path) as gateway:
        product = gateway.add_product()
        rendered_at = gateway.stream_id()

        with connect(f"ws://{gateway.base}/live/shop?after={rendered_at}", compression=None) as socket:
            change = gateway.reserve(product, 4)
            html = str(socket.recv(timeout=10))

    assert f'<b id="available-{product.id}">6</b>' in html
    assert f'data-after="{change}"' in html
