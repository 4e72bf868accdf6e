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

from app.api import openapi, sockets
from app.api import routes as api_routes
from app.auth import accounts
from app.auth.secret_key import secret_key
from app.gateway import Gateway
from app.http import paths
from app.http.handlers import JSON_HANDLERS, on_client_disconnect, on_unexpected_error
from app.http.headers import SecurityHeaders
from app.http.limits import BodyDeadline, BodyLimit, Limits, SocketsPerAddress
from app.http.served_by import ServedBy
from app.http.site import RefuseForeignApiWrites
from app.live.direct import KeepRawSend
from app.live.hub import Hub
from app.migrations import MIGRATIONS
from app.ops import api as ops_api
from app.ops import health, metrics
from app.ops import page as ops_page
from app.ops.client import STATE_KEY as OPS_REDIS
from app.projector.bootstrap import SERVICE
from app.read_model.tables import METADATA
from app.settings import GatewaySettings
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


def create_app(settings: GatewaySettings | Settings | None = None) -> Starlette:
    """The gateway configured by ``settings`` (the environment's by default); its lifespan starts it."""
    if isinstance(settings, GatewaySettings):
        config = settings
    else:
        config = GatewaySettings.from_settings(settings or Settings.from_env())
    backbone = config.backbone
    paths.register_convertors()  # before any route is built: product ids use the "id" convertor

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database.for_service(backbone, SERVICE, METADATA)
        # The projector process migrates the same database; on SQLite both do it under
        # BEGIN IMMEDIATE (an advisory lock on PostgreSQL), so one waits for the other. Clerks
        # are the web's alone: it holds their credentials and refuses production defaults.
        upgrade(db, MIGRATIONS)
        accounts.prepare(cost=config.password_cost)
        for user, password, role in config.staff:
            accounts.ensure_clerk(db, user, password, role, cost=config.password_cost)
        outbox = Outbox(db, SERVICE, REGISTRY)
        async_client = connect_async(backbone.redis)
        publisher = AfterCommitPublisher(outbox, async_client)
        await publisher.start()
        hub = Hub(backbone.redis, LIVE_STREAMS)
        await hub.start()
        app.state.secret_key = secret_key(config.secret_key, backbone.data_dir)
        app.state.limits = Limits(backbone.redis_url, config.budgets)
        setattr(app.state, OPS_REDIS, connect(backbone.redis))
        app.state.gateway = Gateway(settings=config, db=db, outbox=outbox, redis=async_client, hub=hub)
        log.info("gateway started (database %r, redis %s)", db, backbone.redis)
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
            *health.routes(),
            *metrics.routes(),
            # The JSON API answers its errors as JSON (an unknown /api/ path too), the pages as pages.
            Mount(
                "/api",
                routes=[*api_routes.routes(), *openapi.routes(), *ops_api.routes()],
                middleware=[Middleware(ExceptionMiddleware, handlers=JSON_HANDLERS)],
            ),
            *sockets.routes(),
            *live_pages.routes(),
            *pages.routes(),
            *ops_page.routes(),
            Mount("/static", StaticFiles(directory=ROOT / "static"), name="static"),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(ServedBy, instance=config.web_instance),
            # First: a request for another host never reaches a route (nor a redirect built from it).
            Middleware(TrustedHostMiddleware, allowed_hosts=list(config.site.allowed_hosts), www_redirect=False),
            Middleware(SecurityHeaders),
            Middleware(RefuseForeignApiWrites, site=config.site),
            Middleware(BodyLimit),
            Middleware(BodyDeadline, timeout_s=config.request_body_timeout_s),
            Middleware(SocketsPerAddress, limit=config.ws_max_per_address),
            Middleware(KeepRawSend),
            Middleware(metrics.HttpMetrics),  # inside KeepRawSend: it wraps send
        ],
        exception_handlers={
            **PAGE_HANDLERS,
            ClientDisconnect: on_client_disconnect,
            Exception: on_unexpected_error,
        },
    )
    # What the routes need before the lifespan has run (hosts, cookies, sessions), from the same settings.
    app.state.site = config.site
    app.state.session_policy = config.sessions
    return app
