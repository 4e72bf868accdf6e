"""What the gateway's routes share, built once at start-up by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from starlette.requests import HTTPConnection

from app.live.hub import Hub
from app.settings import GatewaySettings
from workers.eventing import Database, Outbox


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
