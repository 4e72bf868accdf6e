"""What the gateway's routes share, built once at start-up by the lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import redis.asyncio as aioredis
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from app.live.hub import Hub
from app.settings import GatewaySettings
from workers.eventing import Database, Outbox

T = TypeVar("T")


@dataclass
class Gateway:
    settings: GatewaySettings
    db: Database
    outbox: Outbox
    redis: aioredis.Redis
    hub: Hub


def gateway(conn: HTTPConnection) -> Gateway:
    state: Gateway = conn.app.state.gateway
    return state


async def in_snapshot(conn: HTTPConnection, query: Callable[[Connection], T]) -> T:
    """``query`` run on one snapshot of the gateway's database, off the event loop."""
    db = gateway(conn).db

    def run() -> T:
        with db.snapshot() as snapshot:
            return query(snapshot)

    return await run_in_threadpool(run)
