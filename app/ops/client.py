"""The ops console's own synchronous Redis client (the backbone's inspection is synchronous;
routes call it in the thread pool), made by the web process's lifespan."""

from __future__ import annotations

import redis
from starlette.requests import HTTPConnection

STATE_KEY = "ops_redis"


def ops_redis(conn: HTTPConnection) -> redis.Redis:
    client: redis.Redis = getattr(conn.app.state, STATE_KEY)
    return client
