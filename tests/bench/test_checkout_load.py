"""The end-to-end load generator against real servers: a raw asyncio one, and the bare baseline app."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bench import checkout_load
from bench.endtoend import listening
from bench.honcho_stack import ROOT
from bench.http_client import Connection, HttpError, encode_json_post, encode_request
from bench.ws_client import Client
from tests.support.ports import free_port
from tests.support.waiting import wait_until

REPLIES = [
    b'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"order": 42}',
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\n\r\n",
]


async def test_one_keep_alive_connection_reads_sized_chunked_and_empty_replies_in_turn() -> None:
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for reply in REPLIES:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line[15:]) for line in head.split(b"\r\n") if line.startswith(b"Content-Length:")), 0)
            requests.append(head + await reader.readexactly(length))
            writer.write(reply)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = await Connection.open("127.0.0.1", port)
    try:
        first = await connection.request(encode_json_post("/api/orders", f"127.0.0.1:{port}", {"a": 1}))
        second = await connection.request(encode_request("GET", "/x", "h", headers={"X-Order-Token": "t"}))
        third = await connection.request(encode_request("GET", "/y", "h"))
        with pytest.raises(HttpError):
            await connection.request(encode_request("GET", "/z", "h"))
    finally:
        await connection.close()
        server.close()
        await server.wait_closed()
    assert (first.status, first.json()) == (202, {"order": 42})
    assert (second.status, second.body) == (200, b"hello world")
    assert (third.status, third.body) == (204, b"")
    assert requests[0].endswith(b'\r\n\r\n{"a":1}') and b"Content-Type: application/json" in requests[0]
    assert b"X-Order-Token: t\r\n" in requests[1]


@pytest.fixture
def bare_app_port() -> Iterator[int]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.baseline_http", str(port)], cwd=ROOT)
    try:
        wait_until(lambda: listening(port), timeout=30, message="bare app did not start")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


async def test_a_burst_gets_every_checkout_answered_with_its_order_id_and_token(bare_app_port: int) -> None:
    report = await checkout_load.burst(bare_app_port, orders=30, clients=4, product_ids=[1, 2])
    statuses = [row[2] for row in report["orders"]]
    assert statuses == [202] * 30
    assert all(row[0] <= row[1] and row[3] and row[4] for row in report["orders"])
    assert len({row[3] for row in report["orders"]}) == 30


async def test_at_a_fixed_rate_each_order_is_seen_confirmed_on_its_socket(bare_app_port: int) -> None:
    report = await checkout_load.at_rate(bare_app_port, rate=20, seconds=0.5, product_ids=[1], first=0)
    outcomes = [result["outcome"] for result in report["results"]]
    assert outcomes == ["confirmed"] * 10
    assert all(result["confirmed_ms"] >= result["post_ms"] for result in report["results"])


async def test_a_socket_closed_before_its_order_is_confirmed_is_told_apart_by_its_close_code() -> None:
    served = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        text = b'{"status":"pending"}'
        writer.write(bytes([0x81, len(text)]) + text)  # a text frame: the order as it is now
        writer.write(b"\x88\x02\x03\xf5")  # close, 1013 "try again later"
        await writer.drain()
        await reader.read()  # until the client hangs up
        writer.close()
        await writer.wait_closed()
        served.set()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    watch = checkout_load._Watch()
    opened: asyncio.Future[None] = loop.create_future()
    _, socket = await loop.create_connection(
        lambda: Client("/ws/orders/1?token=t", f"127.0.0.1:{port}", watch.on_text, opened, watch.on_close),
        "127.0.0.1",
        port,
    )
    try:
        outcome, _at = await asyncio.wait_for(watch.done, 10)
    finally:
        socket.close()
        await asyncio.wait_for(served.wait(), 10)
        server.close()
        await server.wait_closed()
    assert outcome == "closed 1013"


async def test_a_burst_counts_a_connection_that_fails_as_an_order_without_answer_and_goes_on() -> None:
    # Every connection answers one checkout and drops the next one unanswered, as a
    # server resetting under overload does; the burst must finish and say so per order.
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError):  # the generator's last connections just close
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line[15:]) for line in head.split(b"\r\n") if line.startswith(b"Content-Length:"))
            await reader.readexactly(length)
            writer.write(b'HTTP/1.1 202 Accepted\r\nContent-Length: 34\r\n\r\n{"order_id": "o", "token": "tok1"}')
            await reader.readuntil(b"\r\n\r\n")
        writer.transport.abort()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        report = await checkout_load.burst(server.sockets[0].getsockname()[1], orders=12, clients=2, product_ids=[1])
    finally:
        server.close()
        await server.wait_closed()
    statuses = [row[2] for row in report["orders"]]
    assert len(statuses) == 12 and set(statuses) == {202, checkout_load.NO_ANSWER}
    assert statuses.count(checkout_load.NO_ANSWER) >= 4
