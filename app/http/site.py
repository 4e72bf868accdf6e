"""Where the shop is served: the hosts it answers for, its public origin, and what follows from them.

``ALLOWED_HOSTS`` (host names without port) is what Starlette's ``TrustedHostMiddleware``
lets through, so a forged ``Host`` header never reaches a route (nor a redirect built from
it). ``SHOP_PUBLIC_URL`` is the origin browsers see; forms, JSON posts and sockets from any
other origin are refused. Unset, any origin whose host is allowed will do, whatever its
scheme or port (a developer's ``http://127.0.0.1:8000``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.http.errors import error_body
from workers.eventing import Settings
from workers.eventing.settings import SettingsError

DEFAULT_HOSTS = ("127.0.0.1", "localhost")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# A fetch from a page of another site (or a sibling subdomain, which can plant cookies).
FOREIGN_FETCH_SITES = ("cross-site", "same-site")


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin or URL, the port made explicit; None if it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


@dataclass(frozen=True)
class Site:
    allowed_hosts: tuple[str, ...] = DEFAULT_HOSTS
    public_origin: tuple[str, str, int] | None = None
    production: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Site:
        raw_hosts = settings.text("ALLOWED_HOSTS", ",".join(DEFAULT_HOSTS))
        hosts = tuple(h.strip().lower() for h in raw_hosts.split(",") if h.strip())
        public_url = settings.text("SHOP_PUBLIC_URL")
        public = _origin(public_url) if public_url else None
        if public_url and public is None:
            raise SettingsError(f"SHOP_PUBLIC_URL must be an origin such as https://shop.example, not {public_url!r}")
        if public is not None and "*" not in hosts and public[1] not in hosts:
            hosts = (*hosts, public[1])  # the public host is always one the shop answers for
        production = settings.text("SHOP_ENV", "development") == "production"
        return cls(allowed_hosts=hosts or DEFAULT_HOSTS, public_origin=public, production=production)

    @property
    def secure_cookies(self) -> bool:
        """Cookies are ``Secure`` when the public origin is https, and always in production."""
        return self.production or (self.public_origin is not None and self.public_origin[0] == "https")

    def origin_allowed(self, origin: str) -> bool:
        """Whether a browser's ``Origin`` header names this shop (scheme included, when it is configured)."""
        parsed = _origin(origin)
        if parsed is None:  # "null" (a sandboxed frame, a file), or not an origin at all
            return False
        if self.public_origin is not None:
            return parsed == self.public_origin
        return "*" in self.allowed_hosts or parsed[1] in self.allowed_hosts

    def from_elsewhere(self, conn: HTTPConnection) -> bool:
        """True when a browser says the request comes from a page that is not this shop's.

        Programs (curl, the contract's clients) send neither header and are not refused.
        """
        fetch_site = conn.headers.get("sec-fetch-site")
        if fetch_site in FOREIGN_FETCH_SITES:
            return True
        origin = conn.headers.get("origin")
        if origin is None:
            return False
        if origin == "null" and fetch_site == "same-origin":
            # Under ``Referrer-Policy: no-referrer`` a browser sends "Origin: null" with a
            # form post; Sec-Fetch-Site (which no page can set) still says where it came from.
            return False
        return not self.origin_allowed(origin)


def site(conn: HTTPConnection) -> Site:
    found: Site = conn.app.state.site
    return found


class RefuseForeignApiWrites:
    """ASGI middleware: a write to the JSON API (``/api/``) from a page of another site is refused with 403.

    The API takes bearer tokens, which no other site has; this keeps another site's page
    from using a visitor's browser (and address) to place orders or try logins.
    """

    def __init__(self, app: ASGIApp, site: Site) -> None:
        self.app = app
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_api_write(scope) and self.site.from_elsewhere(HTTPConnection(scope)):
            response = JSONResponse(error_body("Cross-site requests are not allowed."), status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_api_write(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"].startswith("/api/") and scope["method"] not in SAFE_METHODS
