"""The web process's composition root: ``create_app()`` wires database, outbox, publisher and live hub.

The web process serves HTTP and WebSockets only. The read-model projector and the
relay of the gateway's outbox run in the projector process (``python -m app.projector``);
what the web commits it publishes itself, right after the commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from app.api import openapi, routes, sockets
from app.auth import accounts
from app.auth.roles import Role
from app.auth.secret_key import secret_key
from app.gateway import Gateway
from app.http.handlers import JSON_HANDLERS, on_client_disconnect, on_unexpected_error
from app.http.headers import SecurityHeaders
from app.http.limits import BODY_TIMEOUT_S, SOCKETS_PER_ADDRESS, BodyDeadline, BodyLimit, Limits, SocketsPerAddress
from app.http.served_by import ServedBy
from app.http.site import RefuseForeignApiWrites, Site
from app.live.direct import KeepRawSend
from app.live.hub import Hub
from app.migrations import MIGRATIONS
from app.ops import api as ops_api
from app.ops import health, metrics
from app.ops import page as ops_page
from app.ops.client import STATE_KEY as OPS_REDIS
from app.ops.health import projector_lag_bound
from app.projector.bootstrap import SERVICE
from app.read_model.tables import METADATA
from app.shop import live_pages, pages
from app.shop.error_pages import PAGE_HANDLERS
from app.shop.templates import ROOT
from workers.contracts import REGISTRY
from workers.eventing import Database, Outbox, Settings
from workers.eventing.after_commit import AfterCommitPublisher
from workers.eventing.redis_client import connect, connect_async
from workers.eventing.schema import upgrade

log = logging.getLogger(__name__)

LIVE_STREAMS = ("stock", "orders", "catalog")


class ConfigurationError(RuntimeError):
    """The gateway refuses to start with these settings."""


def _credentials(settings: Settings, role: str, dev_user: str, dev_password: str) -> tuple[str, str]:
    prefix = f"SHOP_{role.upper()}"
    user = settings.text(f"{prefix}_USER", dev_user)
    password = settings.text(f"{prefix}_PASSWORD", dev_password)
    if settings.text("SHOP_ENV", "development") == "production" and password == dev_password:
        raise ConfigurationError(
            f"SHOP_ENV=production needs {prefix}_PASSWORD set to something other than the dev default"
        )
    return user, password


def clerk_credentials(settings: Settings) -> tuple[str, str]:
    return _credentials(settings, "clerk", accounts.DEV_USER, accounts.DEV_PASSWORD)


def manager_credentials(settings: Settings) -> tuple[str, str]:
    manager = _credentials(settings, "manager", accounts.DEV_MANAGER_USER, accounts.DEV_MANAGER_PASSWORD)
    if manager[0] == clerk_credentials(settings)[0]:
        raise ConfigurationError("SHOP_MANAGER_USER and SHOP_CLERK_USER must name two different accounts")
    return manager


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    staff: list[tuple[tuple[str, str], Role]] = [
        (clerk_credentials(settings), "clerk"),
        (manager_credentials(settings), "manager"),
    ]
    projector_lag_bound(settings)  # a bad value fails here, not at the first health check
    site = Site.from_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database.for_service(settings, SERVICE, METADATA)
        # The projector process migrates the same database; on SQLite both do it under
        # BEGIN IMMEDIATE (an advisory lock on PostgreSQL), so one waits for the other. Clerks
        # are the web's alone: it holds their credentials and refuses production defaults.
        upgrade(db, MIGRATIONS)
        for (user, password), role in staff:
            accounts.ensure_clerk(db, user, password, role)
        outbox = Outbox(db, SERVICE, REGISTRY)
        async_client = connect_async(settings.redis)
        publisher = AfterCommitPublisher(outbox, async_client)
        await publisher.start()
        hub = Hub(settings.redis, LIVE_STREAMS)
        await hub.start()
        app.state.secret_key = secret_key(settings)
        app.state.limits = Limits(settings)
        setattr(app.state, OPS_REDIS, connect(settings.redis))
        app.state.gateway = Gateway(settings=settings, db=db, outbox=outbox, redis=async_client, hub=hub)
        log.info("gateway started (database %r, redis %s)", db, settings.redis)
        try:
            yield
        finally:
            await hub.stop()
            await publisher.stop()
            await async_client.aclose()
            await app.state.limits.close()
            getattr(app.state, OPS_REDIS).close()
            db.dispose()

    app = Starlette(
        routes=[
            *health.ROUTES,
            *metrics.ROUTES,
            # The JSON API answers its errors as JSON (an unknown /api/ path too), the pages as pages.
            Mount(
                "/api",
                routes=[*routes.ROUTES, *openapi.ROUTES, *ops_api.ROUTES],
                middleware=[Middleware(ExceptionMiddleware, handlers=JSON_HANDLERS)],
            ),
            *sockets.ROUTES,
            *live_pages.ROUTES,
            *pages.ROUTES,
            *ops_page.ROUTES,
            Mount("/static", StaticFiles(directory=ROOT / "static"), name="static"),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(ServedBy, instance=settings.text("WEB_INSTANCE")),
            # First: a request for another host never reaches a route (nor a redirect built from it).
            Middleware(TrustedHostMiddleware, allowed_hosts=list(site.allowed_hosts), www_redirect=False),
            Middleware(SecurityHeaders),
            Middleware(RefuseForeignApiWrites, site=site),
            Middleware(BodyLimit),
            Middleware(BodyDeadline, timeout_s=settings.number("REQUEST_BODY_TIMEOUT_S", BODY_TIMEOUT_S)),
            Middleware(SocketsPerAddress, limit=settings.integer("WS_MAX_PER_ADDRESS", SOCKETS_PER_ADDRESS)),
            Middleware(KeepRawSend),
            Middleware(metrics.HttpMetrics),  # inside KeepRawSend: it wraps send
        ],
        exception_handlers={
            **PAGE_HANDLERS,
            ClientDisconnect: on_client_disconnect,
            Exception: on_unexpected_error,
        },
    )
    app.state.site = site
    app.state.session_policy = accounts.SessionPolicy.from_settings(settings)
    return app
