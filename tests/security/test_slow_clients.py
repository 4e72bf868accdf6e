"""Slow and numerous clients: a request must arrive in time, connections and sockets are bounded, and a
client that leaves is one line in the log, never a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.websockets import WebSocketDisconnect
from websockets.sync.client import connect

from app.http.limits import POLICY_VIOLATION
from tests.app.browser import next_message
from tests.app.storefront import Storefront, running_storefront
from tests.support.redis_server import RedisServer
from tests.support.stack import Stack
from tests.support.waiting import wait_until

DEADLINE_S = 10.0  # how long a test waits for the server to act (its own timeouts are far shorter)
MAX_CONNECTIONS = 3
SOCKETS_PER_ADDRESS = 2


@pytest.fixture(scope="module")
def web_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real web process (uvicorn and all), with short deadlines for a request and few connections."""
    env = {
        "REQUEST_HEADER_TIMEOUT_S": "0.5",
        "REQUEST_BODY_TIMEOUT_S": "0.5",
        "WEB_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    }
    stack = Stack(Path(tmp_path_factory.mktemp("web")), env)
    try:
        stack.start("web")
        yield stack
    finally:
        stack.stop()


def raw(web: Stack, sent: bytes) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", web.port), timeout=DEADLINE_S)
    connection.sendall(sent)
    return connection


def answer_then_hang_up(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (failing if it keeps it open)."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open; it sent {received!r}") from None
    finally:
        connection.close()
    return received


def log(web: Stack) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted((web.data_dir / "logs").glob("web.*.log")))


HEAD = b"POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"


@pytest.mark.stack
def test_a_connection_that_never_sends_its_headers_is_closed(web_process: Stack) -> None:
    answer_then_hang_up(raw(web_process, b""))


@pytest.mark.stack
def test_a_request_whose_headers_never_finish_is_closed(web_process: Stack) -> None:
    received = answer_then_hang_up(raw(web_process, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1"))

    assert received.startswith(b"HTTP/1.1 408"), received


@pytest.mark.stack
def test_a_body_that_never_finishes_is_answered_408_and_closed(web_process: Stack) -> None:
    received = answer_then_hang_up(raw(web_process, HEAD + b'{"email": '))

    assert received.startswith(b"HTTP/1.1 408"), received
    assert b'"error"' in received


@pytest.mark.stack
def test_a_client_that_leaves_mid_body_is_one_info_line_without_a_traceback(web_process: Stack) -> None:
    before = log(web_process).count("left before its request")
    for _ in range(3):
        raw(web_process, HEAD + b'{"email": ').close()

    wait_until(lambda: log(web_process).count("left before its request") >= before + 3, DEADLINE_S, "the log lines")
    text = log(web_process)
    assert "Traceback" not in text
    assert "ClientDisconnect" not in text
    assert all(" INFO " in line for line in text.splitlines() if "left before its request" in line)


@pytest.mark.stack
def test_connections_beyond_the_bound_are_answered_503(web_process: Stack) -> None:
    url = f"ws://127.0.0.1:{web_process.port}/ws/stock"
    with connect(url), connect(url):
        busy = httpx.get(f"{web_process.url}/healthz", timeout=DEADLINE_S)

    assert busy.status_code == 503
    wait_until(lambda: httpx.get(f"{web_process.url}/healthz").status_code == 200, DEADLINE_S, "the sockets to go")


# -- sockets per address (in process) ---------------------------------------------------------


@pytest.fixture
def few_sockets(redis_server: RedisServer, tmp_path: Path) -> Iterator[Storefront]:
    env = {"WS_MAX_PER_ADDRESS": str(SOCKETS_PER_ADDRESS)}
    with running_storefront(redis_server.url, tmp_path, env=env) as storefront:
        yield storefront


def test_one_address_cannot_open_more_than_its_share_of_sockets(few_sockets: Storefront) -> None:
    http = few_sockets.http
    with (
        http.websocket_connect("/ws/stock"),
        http.websocket_connect("/live/shop"),
        pytest.raises(WebSocketDisconnect) as refused,
        http.websocket_connect("/ws/stock") as one_too_many,
    ):
        next_message(one_too_many, timeout=2.0)  # opened after all: fail (on the timeout) rather than hang

    assert refused.value.code == POLICY_VIOLATION


def test_a_closed_socket_gives_its_place_back(few_sockets: Storefront) -> None:
    http = few_sockets.http
    for _ in range(2 * SOCKETS_PER_ADDRESS):
        with http.websocket_connect("/ws/stock") as socket_:
            socket_.close()
