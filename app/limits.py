"""Limits that keep one client from hurting the others: request size and login bursts."""

from __future__ import annotations

import time
from collections import deque

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ApiError

MAX_BODY_BYTES = 64 * 1024
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW_S = 60.0


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is refused with 413.

    By its Content-Length before anything is read, or while it streams when it has
    none; either way the endpoint's read raises and the error handler answers.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        too_big = ApiError(413, f"The request body is larger than {self.limit} bytes.")
        if declared.isdigit() and int(declared) > self.limit:

            async def refuse() -> Message:
                raise too_big

            await self.app(scope, refuse, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise too_big
            return message

        await self.app(scope, counted, send)


class LoginThrottle:
    """At most ``attempts`` login attempts per client address in a sliding window.

    Kept in the web process's memory: a burst against one process is what it stops;
    several processes each allow their own share, which still bounds guessing.
    """

    def __init__(self, attempts: int = LOGIN_ATTEMPTS, window_s: float = LOGIN_WINDOW_S) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._seen: dict[str, deque[float]] = {}

    def check(self, conn: HTTPConnection) -> None:
        """Count an attempt; raise 429 when this address has had too many lately."""
        now = time.monotonic()
        address = conn.client.host if conn.client else "unknown"
        if len(self._seen) > 10_000:  # forget quiet addresses rather than grow without bound
            self._seen = {a: q for a, q in self._seen.items() if q and now - q[-1] < self.window_s}
        recent = self._seen.setdefault(address, deque())
        while recent and now - recent[0] > self.window_s:
            recent.popleft()
        if len(recent) >= self.attempts:
            retry = max(1, int(self.window_s - (now - recent[0])) + 1)
            raise ApiError(
                429, f"Too many login attempts; try again in {retry} seconds.", headers={"Retry-After": str(retry)}
            )
        recent.append(now)
