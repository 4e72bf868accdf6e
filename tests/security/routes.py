"""Walking the gateway's routes: what each one is, who may call it, and a concrete path to call it at."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from starlette.convertors import IntegerConvertor
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from app.auth.access import Access, access_of
from app.auth.roles import ROLES
from app.main import create_app
from workers.eventing import Settings

# Paths of the staff's side, by the role they need: whatever is served under them must need it.
ROLE_PREFIXES: dict[str, tuple[str, ...]] = {
    "clerk": ("/warehouse", "/api/warehouse/", "/live/console"),
    "manager": ("/ops", "/api/ops/", "/live/ops", "/manage/", "/api/catalog/"),
}
SAMPLE_ID = "0190a0b0-0000-7000-8000-000000000000"


@dataclass(frozen=True)
class Endpoint:
    """One route of the app (a sub-router's routes with their mount prefix), and who may call it."""

    path: str
    kind: str  # "http", "websocket", or "other" (something the walker cannot see into)
    methods: tuple[str, ...]
    access: Access | None
    route: BaseRoute

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    def sample_path(self, **values: str) -> str:
        """The path with each parameter filled in (an int where the route wants one)."""
        convertors = getattr(self.route, "param_convertors", {})

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            return values.get(name) or ("1" if isinstance(convertors.get(name), IntegerConvertor) else SAMPLE_ID)

        return re.sub(r"\{(\w+)(?::\w+)?\}", value, self.path)

    def __str__(self) -> str:
        return f"{self.kind} {','.join(self.methods)} {self.path}".replace("  ", " ")


def walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[Endpoint]:
    """Every route, into mounted routers; the static files are the only thing skipped."""
    for route in routes:
        if isinstance(route, Route):
            methods = tuple(sorted(route.methods or ("GET",)))
            yield Endpoint(prefix + route.path, "http", methods, access_of(route.endpoint), route)
        elif isinstance(route, WebSocketRoute):
            yield Endpoint(prefix + route.path, "websocket", (), access_of(route.endpoint), route)
        elif isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            continue
        elif isinstance(route, Mount) and route.routes:
            yield from walk(route.routes, prefix + route.path)
        else:  # an ASGI app mounted as is, a Host, ...: nothing declares who may call it
            yield Endpoint(prefix + getattr(route, "path", repr(route)), "other", (), None, route)


def undeclared(routes: Sequence[BaseRoute]) -> list[str]:
    """The routes that are neither declared public nor guarded for a staff role."""
    return [str(endpoint) for endpoint in walk(routes) if endpoint.access is None]


# The app's routes as ``create_app`` builds them (no lifespan runs: nothing is started).
APP_ROUTES: list[BaseRoute] = list(create_app(Settings.from_env({})).routes)
ENDPOINTS = list(walk(APP_ROUTES))
STAFF_ENDPOINTS = [e for e in ENDPOINTS if e.access in ROLES]
MANAGER_ENDPOINTS = [e for e in ENDPOINTS if e.access == "manager"]
SOCKETS = [e for e in ENDPOINTS if e.kind == "websocket"]
