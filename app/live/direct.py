"""Encode once, write many: pushing one pre-framed message to thousands of sockets.

A server-to-client text frame is not masked (RFC 6455), so the bytes of a frame are
the same for every socket: the hub frames each message once and hands the bytes to
each socket's transport, instead of waking a task per socket to frame and send it.
This is what keeps a dispatch-to-last-socket time flat as sockets grow.

It needs to reach the transport under the ASGI socket, so it works with uvicorn's
sans-I/O websockets protocol (the one ``python -m app`` runs, with per-message
deflate off); anywhere else ``attach`` returns None and the socket is served by its
own task through the ASGI interface, as before.
"""

from __future__ import annotations

import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

RAW_SEND = "storefront.raw_send"


class KeepRawSend:
    """ASGI middleware: remember the server's own ``send`` of each WebSocket.

    Starlette wraps ``send`` on its way to the endpoint; the server's original is the
    way to its connection (and transport).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame carrying ``payload``."""
    length = len(payload)
    if length < 126:
        header = bytes((0x81, length))
    elif length < 1 << 16:
        header = bytes((0x81, 126)) + struct.pack(">H", length)
    else:
        header = bytes((0x81, 127)) + struct.pack(">Q", length)
    return header + payload


class DirectSender:
    """Writes frames straight to one uvicorn websocket connection's transport."""

    __slots__ = ("_protocol", "_transport", "_writable")

    def __init__(self, protocol: Any) -> None:
        # Looked up once: ``write`` runs once per socket per change, thousands of times a change.
        self._protocol = protocol
        self._transport: Any = getattr(protocol, "transport", None)
        self._writable: Any = getattr(protocol, "writable", None)

    @classmethod
    def attach(cls, websocket: WebSocket) -> DirectSender | None:
        protocol = getattr(websocket.scope.get(RAW_SEND), "__self__", None)
        if type(protocol).__name__ != "WebSocketsSansIOProtocol":
            return None
        conn = getattr(protocol, "conn", None)
        if conn is None or getattr(conn, "extensions", None):
            return None  # a negotiated extension (deflate) changes the framing: not ours to bypass
        return cls(protocol)

    def write(self, frame: bytes) -> bool:
        """Write a frame; False when the socket is closing or its buffer is full (a laggard)."""
        protocol, transport = self._protocol, self._transport
        if protocol.close_sent or protocol.disconnected or transport.is_closing() or not self._writable.is_set():
            return False
        transport.write(frame)
        return True
