"""Thousands of WebSocket clients in one process, as cheap as they can be.

A full client library would spend more time per message than the server under test,
so each connection here is a bare asyncio protocol: it does the HTTP upgrade, reads
server frames (unmasked, RFC 6455), answers pings and notes when it saw each
event id. Latency is then "XADD to the last socket having the message".
A close frame or a lost connection is reported to ``on_close`` with the close code
(None when the connection just ended), so a benchmark can count dropped sockets.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from typing import Any


class Client(asyncio.Protocol):
    def __init__(
        self,
        path: str,
        host: str,
        on_text: Callable[[bytes], None],
        opened: asyncio.Future[None],
        on_close: Callable[[int | None], None] | None = None,
    ) -> None:
        self.path, self.host = path, host
        self.on_text = on_text
        self.on_close = on_close
        self.opened = opened
        self.buffer = b""
        self.upgraded = False
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Any: uvloop's transports are not asyncio.Transport subclasses, but they write.
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                if not self.opened.done():
                    self.opened.set_exception(ConnectionError(head.split(b"\r\n", 1)[0].decode()))
                return
            self.upgraded, self.buffer = True, rest
            if not self.opened.done():
                self.opened.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            opcode, length = buf[0] & 0x0F, buf[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buf) < 4:
                    break
                length, offset = struct.unpack(">H", buf[2:4])[0], 4
            elif length == 127:
                if len(buf) < 10:
                    break
                length, offset = struct.unpack(">Q", buf[2:10])[0], 10
            if len(buf) < offset + length:
                break
            payload, buf = buf[offset : offset + length], buf[offset + length :]
            if opcode == 1:
                self.on_text(payload)
            elif opcode == 9:
                self._send(0xA, payload)
            elif opcode == 8:
                self._closed(struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None)
        self.buffer = buf

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        self._closed(None)

    def _closed(self, code: int | None) -> None:
        on_close, self.on_close = self.on_close, None  # report once: the frame, or else the lost connection
        if on_close is not None:
            on_close(code)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None and len(payload) < 126
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def close(self) -> None:
        if self.transport is not None:
            self._send(0x8, struct.pack(">H", 1000))
            self.transport.close()


class Crowd:
    """N connected clients and, per event marker, when the last of them received it."""

    def __init__(self) -> None:
        self.clients: list[Client] = []
        self.expected = 0
        self.marker = b""
        self.seen = 0
        self.done: asyncio.Future[float] | None = None

    def watch(self, marker: bytes) -> asyncio.Future[float]:
        """Count the sockets that receive a message containing ``marker`` (one at a time)."""
        self.marker, self.seen = marker, 0
        self.done = asyncio.get_running_loop().create_future()
        return self.done

    def _on_text(self, payload: bytes) -> None:
        if self.marker and self.marker in payload:
            self.seen += 1
            if self.seen == self.expected and self.done is not None and not self.done.done():
                self.done.set_result(time.perf_counter())

    async def connect(self, host: str, port: int, path: str, count: int, parallel: int = 100) -> None:
        loop = asyncio.get_running_loop()
        self.expected = count
        gate = asyncio.Semaphore(parallel)

        async def one() -> None:
            async with gate:
                opened: asyncio.Future[None] = loop.create_future()
                _, client = await loop.create_connection(
                    lambda: Client(path, f"{host}:{port}", self._on_text, opened), host, port
                )
                await asyncio.wait_for(opened, 30)
                self.clients.append(client)

        await asyncio.gather(*(one() for _ in range(count)))

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.clients.clear()
