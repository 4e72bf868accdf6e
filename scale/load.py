"""Load through the balancer: the chaos run's shoppers and clerk, and pages' sockets that reconnect.

A request in flight on a web process that is ``kill -9``ed gets HAProxy's 502 (or 504);
a client retries it as it would a dropped connection, with the same idempotency key.
Such answers carry no ``X-Served-By`` (no web process wrote them), which tells them
apart from a web process's own 5xx: those still count as server errors.

``PageWatchers`` are WebSocket clients that behave as the storefront page does: they
follow ``/ws/stock``, remember the stream id of the last change, and when their socket
drops they reconnect through the balancer with ``after=<that id>``, so the web process
that takes them over replays what they missed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException
from websockets.typing import Origin

from chaos.load import LoadDriver
from tests.support.waiting import wait_until

SERVED_BY = "x-served-by"
BALANCED_TO = "x-balanced-to"  # set by HAProxy (scale/configs.py): the web process behind a socket
WATCHERS = 4


class BalancedLoad(LoadDriver):
    """The chaos load driver, retrying what the balancer answered for a dead web process."""

    def _not_an_answer(self, response: httpx.Response) -> str | None:
        if response.status_code >= 500 and SERVED_BY not in response.headers:
            return f"balancer {response.status_code}: the web process went away"
        return None


def _stream_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


class _Watcher:
    def __init__(self) -> None:
        self.last_id: str | None = None
        self.figures: dict[int, tuple[tuple[int, int], int, int]] = {}  # product -> (stream id, on hand, available)
        self.web: str = ""
        self.connected = False


class PageWatchers:
    """Sockets through the balancer that survive the loss of their web process."""

    def __init__(self, base_url: str, web_ports: tuple[int, ...]) -> None:
        self.base_url = base_url
        self.host = base_url.removeprefix("http://")
        self.webs = len(web_ports)
        self.watchers: list[_Watcher] = []
        self.reconnects = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=asyncio.run, args=(self._run(),), name="page-watchers", daemon=True)
        self._thread.start()

    def wait_spread(self, timeout: float = 30.0) -> None:
        """Until the sockets are on every web process (so killing one drops some)."""
        wait_until(
            lambda: len({w.web for w in self.watchers if w.connected}) >= self.webs,
            timeout=timeout,
            message=lambda: f"sockets not on every web process: {[w.web for w in self.watchers]}",
        )

    def stop_and_compare(self, read_model: dict[int, Any], timeout: float = 20.0) -> list[str]:
        """Wait until every socket shows the read model's figures; what still differs, then stop."""

        def behind() -> list[str]:
            wrong = []
            for index, watcher in enumerate(self.watchers):
                for product_id, (_at, on_hand, available) in watcher.figures.items():
                    product = read_model.get(product_id)
                    if product and (product["on_hand"], product["available"]) != (on_hand, available):
                        wrong.append(
                            f"socket {index} ({watcher.web}): product {product_id} shows {on_hand}/{available}, "
                            f"read model {product['on_hand']}/{product['available']}"
                        )
            return wrong

        deadline = time.monotonic() + timeout
        while (wrong := behind()) and time.monotonic() < deadline:
            time.sleep(0.2)
        self._stopping = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        return wrong

    async def _run(self) -> None:
        tasks = []
        for _ in range(WATCHERS):
            watcher = _Watcher()
            self.watchers.append(watcher)
            tasks.append(asyncio.create_task(self._follow(watcher)))
        # Round robin spreads sockets across web processes; add some until each has one.
        for _ in range(4 * WATCHERS):
            await asyncio.sleep(0.5)
            if len({w.web for w in self.watchers if w.connected}) >= self.webs or self._stopping:
                break
            watcher = _Watcher()
            self.watchers.append(watcher)
            tasks.append(asyncio.create_task(self._follow(watcher)))
        await asyncio.gather(*tasks)

    async def _follow(self, watcher: _Watcher) -> None:
        first = True
        while not self._stopping:
            query = f"?after={watcher.last_id}" if watcher.last_id else ""
            try:
                async with connect(
                    f"ws://{self.host}/ws/stock{query}",
                    origin=Origin(f"http://{self.host}"),
                    open_timeout=10,
                ) as socket:
                    watcher.web = socket.response.headers.get(BALANCED_TO, "") if socket.response else ""
                    watcher.connected = True
                    if not first:
                        self.reconnects += 1
                    first = False
                    while not self._stopping:
                        try:
                            raw = await asyncio.wait_for(socket.recv(), timeout=0.5)
                        except TimeoutError:
                            continue
                        self._take(watcher, raw)
            except (OSError, WebSocketException, TimeoutError):
                pass
            watcher.connected = False
            await asyncio.sleep(0.2)

    @staticmethod
    def _take(watcher: _Watcher, raw: str | bytes) -> None:
        message = json.loads(raw)
        if message.get("type") != "stock.changed" or not message.get("stream_id"):
            return
        at = _stream_key(message["stream_id"])
        watcher.last_id = message["stream_id"]
        product_id = int(message["product_id"])
        known = watcher.figures.get(product_id)
        if known is None or known[0] < at:
            watcher.figures[product_id] = (at, int(message["on_hand"]), int(message["available"]))
