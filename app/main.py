"""The web process's composition root: ``create_app()`` wires database, outbox, publisher and live hub.

The web process serves HTTP and WebSockets only. The read-model projector and the
relay of the gateway's outbox run in the projector process (``python -m app.projector``);
what the web commits it publishes itself, right after the commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from app import api, clerks, health, pages
from app.errors import ApiError, on_api_error, on_client_disconnect, on_http_error, on_unexpected_error
from app.headers import SecurityHeaders
from app.health import projector_lag_bound
from app.keys import secret_key
from app.limits import BODY_TIMEOUT_S, SOCKETS_PER_ADDRESS, BodyDeadline, BodyLimit, Limits, SocketsPerAddress
from app.live import sockets
from app.live.direct import KeepRawSend
from app.live.hub import Hub
from app.projector.bootstrap import SERVICE
from app.site import RefuseForeignApiWrites, Site
from app.state import Gateway
from app.tables import METADATA
from app.web import ROOT
from workers.contracts import REGISTRY
from workers.eventing import Database, Outbox, Settings
from workers.eventing.after_commit import AfterCommitPublisher
from workers.eventing.redis_client import SOCKET_TIMEOUT_S
from workers.eventing.tables import backbone_tables

log = logging.getLogger(__name__)

LIVE_STREAMS = ("stock", "orders")


class ConfigurationError(RuntimeError):
    """The gateway refuses to start with these settings."""


def clerk_credentials(settings: Settings) -> tuple[str, str]:
    user = settings.text("SHOP_CLERK_USER", clerks.DEV_USER)
    password = settings.text("SHOP_CLERK_PASSWORD", clerks.DEV_PASSWORD)
    if settings.text("SHOP_ENV", "development") == "production" and password == clerks.DEV_PASSWORD:
        raise ConfigurationError(
            "SHOP_ENV=production needs SHOP_CLERK_PASSWORD set to something other than the dev default"
        )
    return user, password


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    user, password = clerk_credentials(settings)
    projector_lag_bound(settings)  # a bad value fails here, not at the first health check
    site = Site.from_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        backbone_tables(METADATA)
        db = Database(settings.database_url(SERVICE), METADATA)
        # The projector process creates the same tables; on SQLite both do it under
        # BEGIN IMMEDIATE, so on a fresh data dir one waits for the other. Clerks are
        # the web's alone: it holds their credentials and refuses production defaults.
        db.create_tables()
        clerks.ensure_clerk(db, user, password)
        outbox = Outbox(db, SERVICE, REGISTRY)
        async_client = aioredis.Redis.from_url(
            settings.redis_url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=1.0
        )
        publisher = AfterCommitPublisher(outbox, async_client)
        await publisher.start()
        hub = Hub(settings.redis_url, LIVE_STREAMS)
        await hub.start()
        app.state.secret_key = secret_key(settings)
        app.state.limits = Limits(settings)
        app.state.gateway = Gateway(settings=settings, db=db, outbox=outbox, redis=async_client, hub=hub)
        log.info("gateway started (database %r, redis %s)", db, settings.redis_url)
        try:
            yield
        finally:
            await hub.stop()
            await publisher.stop()
            await async_client.aclose()
            await app.state.limits.close()
            db.dispose()

    app = Starlette(
        routes=[
            *health.ROUTES,
            *api.ROUTES,
            *sockets.ROUTES,
            *pages.ROUTES,
            Mount("/static", StaticFiles(directory=ROOT / "static"), name="static"),
        ],
        lifespan=lifespan,
        middleware=[
            # First: a request for another host never reaches a route (nor a redirect built from it).
            Middleware(TrustedHostMiddleware, allowed_hosts=list(site.allowed_hosts), www_redirect=False),
            Middleware(SecurityHeaders),
            Middleware(RefuseForeignApiWrites, site=site),
            Middleware(BodyLimit),
            Middleware(BodyDeadline, timeout_s=settings.number("REQUEST_BODY_TIMEOUT_S", BODY_TIMEOUT_S)),
            Middleware(SocketsPerAddress, limit=settings.integer("WS_MAX_PER_ADDRESS", SOCKETS_PER_ADDRESS)),
            Middleware(KeepRawSend),
        ],
        exception_handlers={
            ApiError: on_api_error,
            ClientDisconnect: on_client_disconnect,
            HTTPException: on_http_error,
            Exception: on_unexpected_error,
        },
    )
    app.state.site = site
    app.state.session_policy = clerks.SessionPolicy.from_settings(settings)
    return app
