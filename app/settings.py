"""The gateway's configuration: every environment variable it reads (DESIGN.md's), read once.

``GatewaySettings.from_env()`` is called by the composition roots alone (``python -m app``
and ``create_app``) and handed to what needs it; no other module reads the environment.
The backbone's ``Settings`` (Redis, databases, data dir) is part of it, as ``backbone``.
A bad value fails here, at start-up, rather than at the first request that needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.auth import accounts
from app.auth.accounts import SessionPolicy
from app.auth.passwords import PRODUCTION_N, Cost
from app.auth.roles import Role
from app.http.limits import (
    BODY_TIMEOUT_S,
    CHECKOUTS_OVERALL,
    CHECKOUTS_PER_CLIENT,
    LOGIN_ATTEMPTS,
    SOCKETS_PER_ADDRESS,
    Budgets,
)
from app.http.serving import HEADER_TIMEOUT_S, MAX_CONNECTIONS
from app.http.site import Site
from app.shop.checkout_validation import DEFAULT_MAX_UNITS, MAX_QUANTITY
from workers.eventing import Settings
from workers.eventing.retention import RetentionPolicy


class ConfigurationError(RuntimeError):
    """The gateway refuses to start with these settings."""


@dataclass(frozen=True)
class GatewaySettings:
    backbone: Settings
    host: str = "127.0.0.1"  # HOST
    port: int = 8000  # PORT
    ws_ping_interval_s: float = 20.0  # WS_PING_INTERVAL_S
    ws_ping_timeout_s: float = 20.0  # WS_PING_TIMEOUT_S
    web_instance: str = ""  # WEB_INSTANCE: the X-Served-By value
    request_header_timeout_s: float = HEADER_TIMEOUT_S  # REQUEST_HEADER_TIMEOUT_S
    request_body_timeout_s: float = BODY_TIMEOUT_S  # REQUEST_BODY_TIMEOUT_S
    web_max_connections: int = MAX_CONNECTIONS  # WEB_MAX_CONNECTIONS (0: no bound)
    ws_max_per_address: int = SOCKETS_PER_ADDRESS  # WS_MAX_PER_ADDRESS
    budgets: Budgets = field(default_factory=Budgets)  # LOGIN_ATTEMPTS_PER_MINUTE, CHECKOUT_RATE_LIMIT(_TOTAL)
    max_units_per_product: int = DEFAULT_MAX_UNITS  # MAX_UNITS_PER_PRODUCT, at most MAX_QUANTITY
    max_projector_lag: int = 10_000  # HEALTH_MAX_PROJECTOR_LAG: entries behind before /healthz is 503
    ops_refresh_s: float = 1.0  # OPS_REFRESH_S, at least 0.1
    dlq_redrive_s: float = 0.0  # DLQ_REDRIVE_S (the backbone's retention policy)
    secret_key: str = ""  # SHOP_SECRET_KEY; empty: one generated once per data dir
    site: Site = field(default_factory=Site)  # ALLOWED_HOSTS, SHOP_PUBLIC_URL, SHOP_ENV
    sessions: SessionPolicy = field(default_factory=SessionPolicy)  # SESSION_IDLE_S, SESSION_LIFETIME_S
    password_cost: Cost = field(default_factory=Cost)  # PASSWORD_SCRYPT_N
    # SHOP_CLERK_USER/_PASSWORD and SHOP_MANAGER_USER/_PASSWORD: the staff bootstrapped at start-up.
    staff: tuple[tuple[str, str, Role], ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        return cls.from_settings(Settings.from_env(environ))

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewaySettings:
        clerk, manager = clerk_credentials(settings), manager_credentials(settings)
        units = settings.integer("MAX_UNITS_PER_PRODUCT", DEFAULT_MAX_UNITS)
        return cls(
            backbone=settings,
            host=settings.text("HOST", "127.0.0.1"),
            port=settings.integer("PORT", 8000),
            ws_ping_interval_s=settings.number("WS_PING_INTERVAL_S", 20.0),
            ws_ping_timeout_s=settings.number("WS_PING_TIMEOUT_S", 20.0),
            web_instance=settings.text("WEB_INSTANCE"),
            request_header_timeout_s=settings.number("REQUEST_HEADER_TIMEOUT_S", HEADER_TIMEOUT_S),
            request_body_timeout_s=settings.number("REQUEST_BODY_TIMEOUT_S", BODY_TIMEOUT_S),
            web_max_connections=settings.integer("WEB_MAX_CONNECTIONS", MAX_CONNECTIONS),
            ws_max_per_address=settings.integer("WS_MAX_PER_ADDRESS", SOCKETS_PER_ADDRESS),
            budgets=Budgets(
                login=settings.integer("LOGIN_ATTEMPTS_PER_MINUTE", LOGIN_ATTEMPTS),
                checkout=settings.integer("CHECKOUT_RATE_LIMIT", CHECKOUTS_PER_CLIENT),
                checkouts=settings.integer("CHECKOUT_RATE_LIMIT_TOTAL", CHECKOUTS_OVERALL),
            ),
            max_units_per_product=min(MAX_QUANTITY, units) or MAX_QUANTITY,
            max_projector_lag=settings.integer("HEALTH_MAX_PROJECTOR_LAG", 10_000),
            ops_refresh_s=max(0.1, settings.number("OPS_REFRESH_S", 1.0)),
            dlq_redrive_s=RetentionPolicy.from_settings(settings).dlq_redrive_s,
            secret_key=settings.text("SHOP_SECRET_KEY"),
            site=Site.from_settings(settings),
            sessions=SessionPolicy.from_settings(settings),
            password_cost=password_cost(settings),
            staff=((*clerk, "clerk"), (*manager, "manager")),
        )


def _credentials(settings: Settings, role: str, dev_user: str, dev_password: str) -> tuple[str, str]:
    prefix = f"SHOP_{role.upper()}"
    user = settings.text(f"{prefix}_USER", dev_user)
    password = settings.text(f"{prefix}_PASSWORD", dev_password)
    if settings.text("SHOP_ENV", "development") == "production" and password == dev_password:
        raise ConfigurationError(
            f"SHOP_ENV=production needs {prefix}_PASSWORD set to something other than the dev default"
        )
    return user, password


def password_cost(settings: Settings) -> Cost:
    n = settings.integer("PASSWORD_SCRYPT_N", PRODUCTION_N)
    try:
        cost = Cost(n=n)
    except ValueError as error:
        raise ConfigurationError(f"PASSWORD_SCRYPT_N: {error}") from None
    if Site.from_settings(settings).production and n < PRODUCTION_N:
        raise ConfigurationError(f"SHOP_ENV=production needs PASSWORD_SCRYPT_N of at least {PRODUCTION_N}")
    return cost


def clerk_credentials(settings: Settings) -> tuple[str, str]:
    return _credentials(settings, "clerk", accounts.DEV_USER, accounts.DEV_PASSWORD)


def manager_credentials(settings: Settings) -> tuple[str, str]:
    manager = _credentials(settings, "manager", accounts.DEV_MANAGER_USER, accounts.DEV_MANAGER_PASSWORD)
    if manager[0] == clerk_credentials(settings)[0]:
        raise ConfigurationError("SHOP_MANAGER_USER and SHOP_CLERK_USER must name two different accounts")
    return manager
