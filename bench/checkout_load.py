"""The end-to-end load generator, run as a process of its own beside the stack.

    python -m bench.checkout_load burst '<json config>'
    python -m bench.checkout_load rate '<json config>'

``burst``: ``orders`` checkouts sent by ``clients`` keep-alive connections as fast as
the answers come; each order's send and answer time (wall clock, to compare with the
order's history) and its id and token. ``rate``: one checkout every ``1/rate`` seconds
for ``seconds``; as soon as a checkout has its 202 the order's socket
``/ws/orders/{id}?token=`` is opened, and the time from sending the POST to the first
``confirmed`` on that socket is noted, or how the socket ended without one. Prints one
JSON object with the results and the generator's own CPU seconds.

Requests are encoded before the clock starts and written as bytes (``bench.http_client``),
sockets are bare protocols (``bench.ws_client``), and the loop is uvloop's: the
generator must cost a small share of what it measures.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import uvloop

from bench.http_client import Connection, HttpError, encode_json_post, encode_request
from bench.ws_client import Client
from workers.contracts.payments import APPROVING_TOKEN

HOST = "127.0.0.1"
CONFIRM_TIMEOUT_S = 30.0
NO_ANSWER = 0  # the status recorded for a checkout whose connection failed (reset, closed)


def order_body(n: int, product_ids: Sequence[int]) -> dict[str, Any]:
    """The n-th checkout: one unit of a product, the products taken in turn, a card that succeeds."""
    return {
        "email": f"bench-{n}-{uuid.uuid4().hex[:8]}@example.com",
        "name": "Bench Shopper",
        "address": "1 Load Street, Testville",
        "items": [{"product_id": product_ids[n % len(product_ids)], "quantity": 1}],
        "payment_method": APPROVING_TOKEN,
    }


async def burst(port: int, orders: int, clients: int, product_ids: Sequence[int]) -> dict[str, Any]:
    """Send every checkout through ``clients`` connections; each connection takes the next order when free."""
    host = f"{HOST}:{port}"
    requests = [encode_json_post("/api/orders", host, order_body(n, product_ids)) for n in range(orders)]
    connections = [await Connection.open(HOST, port) for _ in range(clients)]
    results: list[list[Any]] = [[] for _ in range(orders)]
    queue = iter(range(orders))  # shared by the clients: one event loop, so no locking

    async def client(connection: Connection) -> None:
        try:
            for n in queue:
                sent = time.time()
                try:
                    reply = await connection.request(requests[n])
                except (OSError, EOFError, HttpError) as exc:  # counted, not fatal: a fresh connection goes on
                    results[n] = [sent, time.time(), NO_ANSWER, None, repr(exc)[:200]]
                    await connection.close()
                    connection = await Connection.open(HOST, port)
                    continue
                answered = time.time()
                if reply.status == 202:
                    placed = reply.json()
                    results[n] = [sent, answered, reply.status, placed["order_id"], placed["token"]]
                else:
                    results[n] = [sent, answered, reply.status, None, reply.body[:200].decode(errors="replace")]
        finally:
            await connection.close()

    cpu_started, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(client(connection) for connection in connections))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"orders": results, "seconds": wall, "cpu_seconds": cpu}


class _Watch:
    """One order's socket: resolves with the time ``confirmed`` arrived, or how the socket ended."""

    def __init__(self) -> None:
        self.done: asyncio.Future[tuple[str, float]] = asyncio.get_running_loop().create_future()

    def on_text(self, payload: bytes) -> None:
        if self.done.done():
            return
        status = json.loads(payload).get("status")
        if status == "confirmed":
            self.done.set_result(("confirmed", time.perf_counter()))
        elif status not in ("pending", None):
            self.done.set_result((f"status {status}", time.perf_counter()))

    def on_close(self, code: int | None) -> None:
        if not self.done.done():
            self.done.set_result((f"closed {code}" if code is not None else "connection lost", time.perf_counter()))


async def at_rate(port: int, rate: float, seconds: float, product_ids: Sequence[int], first: int) -> dict[str, Any]:
    """One checkout every ``1/rate`` s; each order's POST time and POST -> confirmed on its socket."""
    loop = asyncio.get_running_loop()
    host = f"{HOST}:{port}"
    total = max(1, round(rate * seconds))
    requests = [encode_json_post("/api/orders", host, order_body(first + n, product_ids)) for n in range(total)]
    idle: list[Connection] = [await Connection.open(HOST, port) for _ in range(8)]
    results: list[dict[str, Any]] = []

    async def one(n: int) -> None:
        try:
            await checkout_and_watch(n)
        except (OSError, EOFError, HttpError) as exc:  # counted, not fatal: the figures say how many failed
            results.append({"outcome": f"error {exc!r}"})

    async def checkout_and_watch(n: int) -> None:
        connection = idle.pop() if idle else await Connection.open(HOST, port)
        sent = time.perf_counter()
        reply = await connection.request(requests[n])
        answered = time.perf_counter()
        idle.append(connection)
        result: dict[str, Any] = {"post_ms": (answered - sent) * 1000, "status": reply.status}
        results.append(result)
        if reply.status != 202:
            result["outcome"] = f"HTTP {reply.status}"
            return
        placed = reply.json()
        watch = _Watch()
        path = f"/ws/orders/{placed['order_id']}?token={quote(placed['token'])}"
        opened: asyncio.Future[None] = loop.create_future()
        opened.add_done_callback(lambda future: future.cancelled() or future.exception())  # ends show in on_close
        _, socket = await loop.create_connection(
            lambda: Client(path, host, watch.on_text, opened, watch.on_close), HOST, port
        )
        try:
            outcome, at = await asyncio.wait_for(watch.done, CONFIRM_TIMEOUT_S)
        except TimeoutError:
            outcome, at = "timeout", time.perf_counter()
        socket.on_close = None
        socket.close()
        result["outcome"] = outcome
        if outcome == "confirmed":
            result["confirmed_ms"] = (at - sent) * 1000

    cpu_started, started = time.process_time(), time.perf_counter()
    tasks = []
    for n in range(total):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    for connection in idle:
        await connection.close()
    return {"results": results, "seconds": wall, "cpu_seconds": cpu}


async def fetch_orders(port: int, orders: Sequence[tuple[str, str]], connections: int = 8) -> list[dict[str, Any]]:
    """``GET /api/orders/{id}`` with each order's token, through a few keep-alive connections."""
    host = f"{HOST}:{port}"
    answers: list[dict[str, Any]] = [{} for _ in orders]
    queue = iter(range(len(orders)))

    async def client() -> None:
        connection = await Connection.open(HOST, port)
        for n in queue:
            order_id, token = orders[n]
            reply = await connection.request(
                encode_request("GET", f"/api/orders/{order_id}", host, headers={"X-Order-Token": token})
            )
            answers[n] = reply.json() if reply.status == 200 else {"error": reply.status}
        await connection.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    return answers


def main(argv: list[str]) -> None:
    mode, config = argv[0], json.loads(argv[1])
    if mode == "burst":
        result = uvloop.run(burst(config["port"], config["orders"], config["clients"], config["product_ids"]))
    elif mode == "rate":
        result = uvloop.run(
            at_rate(config["port"], config["rate"], config["seconds"], config["product_ids"], config.get("first", 0))
        )
    else:
        raise SystemExit(f"unknown mode {mode!r}: burst or rate")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
