"""A keep-alive HTTP/1.1 client that costs next to nothing per request.

A load generator on the same two cores as the system under test must spend far less
CPU per request than the server does, or it measures itself. So: requests are
encoded once, ahead of the load, and written as bytes; the reply is read with
asyncio streams and only its status line, ``Content-Length`` (or chunks) and body
are looked at. One ``Connection`` carries one request at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any


class HttpError(Exception):
    """The server's answer could not be read as HTTP/1.1."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def encode_request(
    method: str, path: str, host: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """The bytes of one keep-alive request (JSON body if any)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def encode_json_post(path: str, host: str, payload: Any) -> bytes:
    return encode_request("POST", path, host, json.dumps(payload, separators=(",", ":")).encode())


class Connection:
    """One keep-alive connection; ``request`` sends pre-encoded bytes and reads one reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> Reply:
        self.writer.write(raw)
        return await self.read_reply()

    async def read_reply(self) -> Reply:
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise HttpError("connection closed before a reply") from exc
        status_line, *header_lines = head[:-4].split(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise HttpError(f"not an HTTP/1.1 status line: {status_line!r}")
        length: int | None = None
        chunked = False
        for line in header_lines:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            body = await self._read_chunks()
        else:
            body = await self.reader.readexactly(length) if length else b""
        return Reply(int(parts[1]), body)

    async def _read_chunks(self) -> bytes:
        body = bytearray()
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # no trailers are sent to us
                return bytes(body)
            body += await self.reader.readexactly(size)
            await self.reader.readexactly(2)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
