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

import asyncio
import logging
import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from websockets.protocol import State

log = logging.getLogger(__name__)

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
    """Writes frames straight to one uvicorn websocket connection's transport.

    It reads uvicorn's private attributes, so it trusts nothing: ``attach`` checks all
    it will use and answers None (serve through ASGI) when anything differs, and
    ``write`` never raises (it reports ``failed`` and the socket falls back).
    """

    __slots__ = ("_protocol", "_transport", "_writable", "failed")

    # After one unexpected failure the process stops writing directly: whatever uvicorn
    # changed would fail the next socket the same way.
    disabled = False

    def __init__(self, protocol: Any) -> None:
        # Looked up once: ``write`` runs once per socket per change, thousands of times a change.
        self._protocol = protocol
        self._transport: Any = getattr(protocol, "transport", None)
        self._writable: Any = getattr(protocol, "writable", None)
        self.failed = False

    @staticmethod
    def protocol_of(websocket: WebSocket) -> Any:
        """The server's connection object under ``websocket`` (None if there is no way to it)."""
        return getattr(websocket.scope.get(RAW_SEND), "__self__", None)

    @staticmethod
    def missing(protocol: Any) -> list[str]:
        """What ``protocol`` lacks of what the direct writer uses (empty: it can write directly)."""
        if type(protocol).__name__ != "WebSocketsSansIOProtocol":
            return [f"uvicorn's WebSocketsSansIOProtocol (found {type(protocol).__name__})"]
        lacks = [name for name in ("close_sent", "disconnected") if not isinstance(getattr(protocol, name, None), bool)]
        if not isinstance(getattr(protocol, "writable", None), asyncio.Event):
            lacks.append("writable (an asyncio.Event)")
        transport = getattr(protocol, "transport", None)
        if not (callable(getattr(transport, "write", None)) and callable(getattr(transport, "is_closing", None))):
            lacks.append("transport (with write and is_closing)")
        conn = getattr(protocol, "conn", None)
        if not isinstance(getattr(conn, "extensions", None), list):
            lacks.append("conn.extensions (a list)")
        if getattr(conn, "state", None) is not State.OPEN:
            lacks.append("conn.state (OPEN)")
        return lacks

    @classmethod
    def attach(cls, websocket: WebSocket) -> DirectSender | None:
        """A direct writer for ``websocket``, or None where the ASGI send path must serve it."""
        if cls.disabled:
            return None
        protocol = cls.protocol_of(websocket)
        if cls.missing(protocol):
            return None
        if protocol.conn.extensions:
            return None  # a negotiated extension (deflate) changes the framing: not ours to bypass
        return cls(protocol)

    def write(self, frame: bytes) -> bool:
        """Write a frame; False when the socket is closing, its buffer is full, or writing ``failed``."""
        try:
            protocol, transport = self._protocol, self._transport
            if protocol.close_sent or protocol.disconnected or transport.is_closing() or not self._writable.is_set():
                return False
            transport.write(frame)
            return True
        except Exception:
            # Free while nothing raises; if something does, uvicorn is not what it was.
            if not DirectSender.disabled:
                log.exception("direct WebSocket writes failed; serving sockets through ASGI from now on")
            DirectSender.disabled = True
            self.failed = True
            return False
