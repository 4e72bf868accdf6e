"""The baseline for live push: a bare Starlette WebSocket broadcast of the same messages.

One XREAD loop on the ``stock`` stream; each entry becomes the same JSON message the
gateway sends, written to every socket in turn. No replay, no mailboxes, no limits.

    python -m bench.baseline_ws <port> <redis-url>
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any, cast

import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.api.sockets import stock_json
from app.live.hub import parse_entry


def create_app(redis_url: str) -> Starlette:
    sockets: set[WebSocket] = set()

    async def broadcast() -> None:
        client = aioredis.Redis.from_url(redis_url, socket_timeout=5)
        last = "$"
        while True:
            reply = cast(list[Any], await client.xread({"stock": last}, block=1000, count=500))
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    change = parse_entry("stock", entry_id, fields)
                    if change is None:
                        continue
                    message = stock_json(change)
                    for socket in list(sockets):
                        with contextlib.suppress(Exception):
                            await socket.send_text(message)

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        sockets.add(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            sockets.discard(websocket)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(broadcast())
        yield
        task.cancel()

    return Starlette(routes=[WebSocketRoute("/ws/stock", endpoint)], lifespan=lifespan)


if __name__ == "__main__":
    uvicorn.run(create_app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
