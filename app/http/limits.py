"""Limits that keep one client from hurting the others: request size and pace, sockets, login and checkout bursts.

Login and checkout budgets are counted in Redis, so they hold across every web process
behind a load balancer. Redis away or slow must not stop the shop (checkout works
without it): the count then falls back to this process's memory until Redis answers.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections import deque
from dataclasses import dataclass

import anyio
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.errors import ApiError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
LOGIN_ATTEMPTS = 10
CHECKOUTS_PER_CLIENT = 20
CHECKOUTS_OVERALL = 6000
WINDOW_S = 60.0
BODY_TIMEOUT_S = 10.0
SOCKETS_PER_ADDRESS = 50
POLICY_VIOLATION = 1008
_CLOSE = {"Connection": "close"}  # the rest of a late body is not read: the connection cannot be reused
# A limit must not slow a request down much when Redis is frozen or far away.
REDIS_TIMEOUT_S = 0.25


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


def address(conn: HTTPConnection) -> str:
    """The client's address as the web process saw it (proxy headers are not trusted)."""
    return conn.client.host if conn.client else "unknown"


class BodyDeadline:
    """ASGI middleware: a request body must arrive in full within ``timeout_s`` of the first read, else 408.

    A client that sends its body a byte at a time would otherwise hold its connection
    (and a task) for as long as it likes. Once the body is in, later reads (waiting for
    a disconnect) have no deadline.
    """

    def __init__(self, app: ASGIApp, timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.timeout_s <= 0:
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        complete = False

        async def timed() -> Message:
            nonlocal deadline, complete
            if complete:
                return await receive()
            deadline = deadline or anyio.current_time() + self.timeout_s
            try:
                with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                    message = await receive()
            except TimeoutError:
                raise ApiError(
                    408, f"The request body did not arrive within {self.timeout_s:g} seconds.", headers=_CLOSE
                ) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed, send)


class SocketsPerAddress:
    """ASGI middleware: at most ``limit`` open WebSockets per client address in this process (0: no limit).

    One more is refused at the handshake (close 1008, which the browser sees as a failed
    connection), so one address cannot take all of a web process's sockets.
    """

    def __init__(self, app: ASGIApp, limit: int = SOCKETS_PER_ADDRESS) -> None:
        self.app = app
        self.limit = limit
        self.open: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        who = scope["client"][0] if scope.get("client") else "unknown"
        if self.open.get(who, 0) >= self.limit:
            log.debug("refused a socket from %s: %d open already", who, self.limit)
            await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": "too many sockets"})
            return
        self.open[who] = self.open.get(who, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            left = self.open.pop(who) - 1
            if left:
                self.open[who] = left


# A sliding window, atomically: forget hits older than the window, refuse when full
# (answering the oldest hit's time, from which the wait follows), else record this one.
_SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  return redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return false
"""


class Window:
    """At most ``limit`` hits per key in any ``window_s`` seconds; a limit of 0 means none."""

    def __init__(self, redis: aioredis.Redis, name: str, limit: int, window_s: float = WINDOW_S) -> None:
        self.name = name
        self.limit = limit
        self.window_s = window_s
        self._script = redis.register_script(_SLIDING_WINDOW)
        self._local: dict[str, deque[float]] = {}
        self._redis_away = False

    async def hit(self, who: str) -> int | None:
        """Count a hit for ``who``: None while within the limit, else the seconds to wait (not counted)."""
        if self.limit <= 0:
            return None
        now = time.time()
        oldest = await self._oldest_if_full(who, now)
        if oldest is None:
            return None
        return max(1, math.ceil(oldest + self.window_s - now))

    async def _oldest_if_full(self, who: str, now: float) -> float | None:
        member = f"{now:.6f}-{secrets.token_hex(4)}"
        try:
            oldest = await self._script(
                keys=[f"limit:{self.name}:{who}"], args=[f"{now:.6f}", self.window_s, self.limit, member]
            )
        except (aioredis.RedisError, OSError) as exc:
            if not self._redis_away:
                log.warning("%s limit counted in this process only: Redis did not answer (%s)", self.name, exc)
                self._redis_away = True
            return self._locally(who, now)
        if self._redis_away:
            log.info("%s limit counted in Redis again", self.name)
            self._redis_away = False
        return None if oldest is None else float(oldest)

    def _locally(self, who: str, now: float) -> float | None:
        if len(self._local) > 10_000:  # forget quiet clients rather than grow without bound
            self._local = {k: q for k, q in self._local.items() if q and now - q[-1] < self.window_s}
        recent = self._local.setdefault(who, deque())
        while recent and now - recent[0] > self.window_s:
            recent.popleft()
        if len(recent) >= self.limit:
            return recent[0]
        recent.append(now)
        return None


@dataclass(frozen=True)
class Budgets:
    """Per minute: login attempts and checkouts per client address, and checkouts overall."""

    login: int = LOGIN_ATTEMPTS
    checkout: int = CHECKOUTS_PER_CLIENT
    checkouts: int = CHECKOUTS_OVERALL


class Limits:
    """The gateway's budgets: login attempts and checkouts per client address, and checkouts overall."""

    def __init__(self, redis_url: str, budgets: Budgets) -> None:
        # A client of its own: short timeouts and no retries, so a limit never holds a request up for long.
        self.redis = aioredis.Redis.from_url(
            redis_url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
        )
        self.login = Window(self.redis, "login", budgets.login)
        self.checkout = Window(self.redis, "checkout", budgets.checkout)
        self.checkouts = Window(self.redis, "checkouts", budgets.checkouts)

    async def check_login(self, conn: HTTPConnection) -> None:
        """Count a login attempt; 429 when this address has had too many this minute."""
        retry = await self.login.hit(address(conn))
        if retry is not None:
            raise _too_many(f"Too many login attempts; try again in {retry} seconds.", retry)

    async def check_checkout(self, conn: HTTPConnection) -> None:
        """Count a checkout; 429 when this address, or everyone together, has had too many this minute."""
        retry = await self.checkout.hit(address(conn))
        if retry is not None:
            raise _too_many(f"Too many orders from your address; try again in {retry} seconds.", retry)
        retry = await self.checkouts.hit("all")
        if retry is not None:
            raise _too_many(f"The shop is taking too many orders right now; try again in {retry} seconds.", retry)

    async def close(self) -> None:
        await self.redis.aclose()


def _too_many(message: str, retry_after: int) -> ApiError:
    return ApiError(429, message, headers={"Retry-After": str(retry_after)})


def limits(conn: HTTPConnection) -> Limits:
    found: Limits = conn.app.state.limits
    return found
