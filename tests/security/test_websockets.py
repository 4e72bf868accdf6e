"""Sockets open only from our own pages, and close on oversized messages, floods and dead peers."""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.live.feed import MAX_CLIENT_MESSAGE, MAX_CLIENT_MESSAGES_PER_S
from app.live.sockets import POLICY_VIOLATION
from tests.app.browser import next_json, next_message
from tests.app.storefront import Storefront
from tests.security.routes import SOCKETS, Endpoint
from tests.support.stack import Stack

MESSAGE_TOO_BIG = 1009
KEEPALIVE_TIMEOUT = 1011
FOREIGN_ORIGINS = ["http://evil.example", "http://testserver.evil.example", "https://evil.example:443", "null"]


def may_open(storefront: Storefront, endpoint: Endpoint) -> str:
    """Become someone who may open ``endpoint`` (staff of its role, an order's owner); the path to open."""
    if endpoint.access in ("clerk", "manager"):
        storefront.browser_login(endpoint.access)
    if "{order_id}" in endpoint.path:
        placed = storefront.place_order(storefront.add_product())
        return endpoint.sample_path(order_id=placed.order_id) + f"?token={placed.token}"
    return endpoint.sample_path()


def opened(storefront: Storefront, socket: WebSocketTestSession, endpoint: Endpoint) -> WebSocketTestSession:
    """The socket, past what it sends on its own at the start (an order socket's current status, the ops console)."""
    if endpoint.path.startswith("/ws/orders/"):
        next_json(socket)
    if endpoint.path == "/live/ops":
        next_message(socket)
    return socket


def closed_with(socket: WebSocketTestSession) -> int:
    """The code the server closed the socket with (failing if it sends anything else first)."""
    message = next_message(socket)
    assert message["type"] == "websocket.close", message
    code: int = message["code"]
    return code


def stays_open(socket: WebSocketTestSession, seconds: float = 0.3) -> bool:
    """True when the server does not close the socket within ``seconds`` (whatever else it sends)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = next_message(socket, timeout=left)
        except TimeoutError:
            return True
        if message["type"] == "websocket.close":
            return False
    return True


# -- the handshake ---------------------------------------------------------------------------


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
@pytest.mark.parametrize("endpoint", SOCKETS, ids=str)
def test_a_page_of_another_site_cannot_open_a_socket(storefront: Storefront, endpoint: Endpoint, origin: str) -> None:
    path = may_open(storefront, endpoint)  # everything right but where the page comes from

    with pytest.raises(WebSocketDisconnect) as refused:
        storefront.http.websocket_connect(path, headers={"Origin": origin}).__enter__()

    assert refused.value.code == POLICY_VIOLATION


@pytest.mark.parametrize("endpoint", SOCKETS, ids=str)
def test_our_own_pages_open_every_socket(storefront: Storefront, endpoint: Endpoint) -> None:
    path = may_open(storefront, endpoint)

    with storefront.http.websocket_connect(path, headers={"Origin": "http://testserver"}) as socket:
        assert stays_open(opened(storefront, socket, endpoint))


# -- what a client sends ---------------------------------------------------------------------

OVERSIZED = {
    "ascii-text": "x" * (MAX_CLIENT_MESSAGE + 1),
    "multibyte-text": "€" * (MAX_CLIENT_MESSAGE // 3 + 1),  # few characters, more than the limit in bytes
    "bytes": b"x" * (MAX_CLIENT_MESSAGE + 1),
}


@pytest.mark.parametrize("message", OVERSIZED.values(), ids=OVERSIZED.keys())
@pytest.mark.parametrize("endpoint", SOCKETS, ids=str)
def test_an_oversized_client_message_closes_the_socket(
    storefront: Storefront, endpoint: Endpoint, message: str | bytes
) -> None:
    with storefront.http.websocket_connect(may_open(storefront, endpoint)) as socket:
        opened(storefront, socket, endpoint)
        if isinstance(message, bytes):
            socket.send_bytes(message)
        else:
            socket.send_text(message)

        assert closed_with(socket) == MESSAGE_TOO_BIG


@pytest.mark.parametrize("endpoint", SOCKETS, ids=str)
def test_a_client_that_floods_a_socket_is_disconnected(storefront: Storefront, endpoint: Endpoint) -> None:
    with storefront.http.websocket_connect(may_open(storefront, endpoint)) as socket:
        opened(storefront, socket, endpoint)
        for _ in range(MAX_CLIENT_MESSAGES_PER_S + 1):
            socket.send_text("ping")

        assert closed_with(socket) == POLICY_VIOLATION


def test_a_client_within_the_limits_keeps_its_socket(storefront: Storefront) -> None:
    product = storefront.add_product()

    with storefront.http.websocket_connect("/ws/stock") as socket:
        socket.send_text("x" * MAX_CLIENT_MESSAGE)
        for _ in range(MAX_CLIENT_MESSAGES_PER_S - 1):
            socket.send_text("ping")
        assert stays_open(socket)
        change = storefront.change_stock(product, on_hand=9, version=2, cause="dispatch", delta_on_hand=-1)

        while next_json(socket)["stream_id"] != change.entry_id:
            pass  # an earlier change (the product's arrival) may still be on its way


# -- dead peers ------------------------------------------------------------------------------

PING_INTERVAL_S = 0.3
PING_TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def web_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real web process (and its Redis), pinging every socket often and waiting little for the pong."""
    env = {"WS_PING_INTERVAL_S": str(PING_INTERVAL_S), "WS_PING_TIMEOUT_S": str(PING_TIMEOUT_S)}
    stack = Stack(Path(tmp_path_factory.mktemp("web")), env)
    try:
        stack.start("web")
        yield stack
    finally:
        stack.stop()


class DeadPeer:
    """A WebSocket client on a raw TCP socket that completes the handshake and then never answers."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._receive()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head

    def _receive(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        return chunk

    def frames_until_closed(self, timeout: float) -> list[tuple[int, bytes]]:
        """Read (never answer) every frame until the server hangs up; (opcode, payload) each."""
        frames: list[tuple[int, bytes]] = []
        deadline = time.monotonic() + timeout
        while True:
            while len(self.buffer) >= 2 and len(self.buffer) >= 2 + (self.buffer[1] & 0x7F):
                size = self.buffer[1] & 0x7F
                assert size < 126, "the server sent a data frame; this client follows nothing"
                frames.append((self.buffer[0] & 0x0F, self.buffer[2 : 2 + size]))
                self.buffer = self.buffer[2 + size :]
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self.buffer += self._receive()
            except EOFError:
                return frames
            except TimeoutError:
                raise AssertionError(f"still connected after {timeout}s; frames so far: {frames}") from None

    def close(self) -> None:
        self.sock.close()


@pytest.mark.stack
@pytest.mark.parametrize("path", ["/ws/stock", "/live/shop"])
def test_the_server_closes_a_socket_whose_peer_stopped_answering_pings(web_process: Stack, path: str) -> None:
    peer = DeadPeer(web_process.port, path)
    started = time.monotonic()
    try:
        frames = peer.frames_until_closed(timeout=10 * (PING_INTERVAL_S + PING_TIMEOUT_S))
    finally:
        peer.close()

    opcodes = [opcode for opcode, _payload in frames]
    assert opcodes[0] == 0x9  # the server pinged...
    assert opcodes[-1] == 0x8  # ...and, with no pong, closed: "keepalive ping timeout"
    assert struct.unpack("!H", frames[-1][1][:2])[0] == KEEPALIVE_TIMEOUT
    assert time.monotonic() - started >= PING_INTERVAL_S + PING_TIMEOUT_S - 0.1


@pytest.mark.stack
def test_a_peer_that_answers_pings_keeps_its_socket(web_process: Stack) -> None:
    with connect(f"ws://127.0.0.1:{web_process.port}/ws/stock", ping_interval=None) as live:
        time.sleep(3 * (PING_INTERVAL_S + PING_TIMEOUT_S))  # several pings, each answered by the client library

        with pytest.raises(TimeoutError):
            live.recv(timeout=0.1)  # still open: nothing to read, rather than ConnectionClosed
        try:
            live.ping().wait(timeout=2)
        except ConnectionClosed as exc:  # pragma: no cover - the failure this test exists for
            raise AssertionError(f"the server closed a live socket: {exc}") from exc
