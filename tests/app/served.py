"""The gateway behind a real uvicorn, as ``python -m app`` serves it (and its projector), for socket tests.

The TestClient speaks ASGI only; the direct writer needs uvicorn's sans-I/O websockets
protocol and a real WebSocket client. With per-message deflate on (server and client),
the same server serves its sockets through the ASGI send path instead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import httpx2
import redis
import uvicorn
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from app.main import create_app
from tests.app.storefront import CLERK_PASSWORD, CLERK_USER, Projector, Storefront, eventually
from tests.support.ports import free_port
from tests.support.staff import CHEAP_PASSWORDS
from workers.eventing import Settings


@contextlib.contextmanager
def served_storefront(
    redis_url: str,
    data_dir: Path,
    *,
    deflate: bool = False,
    wrap: Callable[[ASGIApp], ASGIApp] | None = None,
) -> Iterator[tuple[Storefront, str]]:
    """The gateway in uvicorn (lifespan and all) in a thread, and its ``host:port``.

    ``wrap`` puts an ASGI layer between uvicorn and the app (e.g. to change what the
    app sees of the server's connections).
    """
    port = free_port()
    environ = {
        "DATA_DIR": str(data_dir),
        "REDIS_URL": redis_url,
        "SHOP_CLERK_USER": CLERK_USER,
        "SHOP_CLERK_PASSWORD": CLERK_PASSWORD,
        "LOGIN_ATTEMPTS_PER_MINUTE": "10000",
        **CHEAP_PASSWORDS,
    }
    settings = Settings.from_env(environ)
    app = create_app(settings)
    config = uvicorn.Config(
        wrap(app) if wrap is not None else app,
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        ws_per_message_deflate=deflate,
        loop="asyncio",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    base = f"127.0.0.1:{port}"
    http = httpx2.Client(base_url=f"http://{base}", timeout=10.0)
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    projector = Projector(settings)  # its own process in the Procfile; threads of the test here
    projector.start()
    try:
        eventually(lambda: server.started, "uvicorn to start")
        # Only the HTTP side of the client is used: sockets go through a real WebSocket client.
        storefront = Storefront(app, cast(TestClient, http), client, projector)
        hub = storefront.gateway.hub
        eventually(lambda: set(hub.streams) <= set(hub.last_ids), "the live hub to start reading")
        yield storefront, base
    finally:
        http.close()
        client.close()
        server.should_exit = True
        thread.join(timeout=10)
        projector.close()
