"""Redis clients for the backbone, built at start-up and passed in (never at import)."""

from __future__ import annotations

import redis

# Errors after which a reader or the relay waits and tries again: Redis is away,
# restarting, or still loading its AOF.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.BusyLoadingError,
)

# Blocking reads must return well before the socket timeout (redis-py 8 defaults to
# 5 s), or a quiet stream would look like a dead connection.
SOCKET_TIMEOUT_S = 5.0
BLOCK_MS = 1_000


def connect(url: str) -> redis.Redis:
    """A synchronous client with the backbone's timeouts."""
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )
