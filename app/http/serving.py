"""How ``python -m app`` guards the web process: uvicorn's options for slow and numerous clients.

Slow and numerous clients are bounded here, where the connections are: a request's
headers must arrive within ``REQUEST_HEADER_TIMEOUT_S`` (uvicorn itself waits forever
for them), at most ``WEB_MAX_CONNECTIONS`` connections and requests are served at once
(beyond that, 503), and an idle keep-alive connection is closed after a few seconds.
The body's deadline is ``app.http.limits.BodyDeadline``; sockets per address are
``app.http.limits.SocketsPerAddress``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.http.access_log import log_config

log = logging.getLogger(__name__)

HEADER_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 10_000
_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HeaderDeadline(HttpToolsProtocol):
    """uvicorn's HTTP protocol, closing a connection whose request headers take too long.

    The clock starts when the connection opens (or, on a kept-alive connection, with the
    first byte of the next request) and stops when the headers are complete.
    """

    header_timeout_s = HEADER_TIMEOUT_S
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info("closed the connection of %s: no complete request headers within %gs", client, self.header_timeout_s)
        self.transport.write(_TOO_SLOW)
        self.transport.close()


def with_header_deadline(timeout_s: float) -> type[HeaderDeadline]:
    return type("HeaderDeadline", (HeaderDeadline,), {"header_timeout_s": timeout_s})


def guard_options(header_timeout_s: float = HEADER_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS) -> dict[str, Any]:
    """The options of ``uvicorn.run`` that bound slow and numerous clients and keep tokens out of the log."""
    return {
        "http": with_header_deadline(header_timeout_s),
        "limit_concurrency": max_connections or None,
        "timeout_keep_alive": 5,
        "log_config": log_config(),
    }
