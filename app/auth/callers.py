"""Who is calling: a clerk with a bearer token (API) or a session cookie (browser)."""

from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from app.auth import accounts
from app.gateway import gateway

SESSION_COOKIE = "storefront_session"


def bearer_token(conn: HTTPConnection) -> str | None:
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_clerk(conn: HTTPConnection) -> accounts.Session | None:
    """The clerk behind a bearer token. The JSON API takes no cookies: a cookie is sent by
    the browser on its own, so a cookie-authenticated API would need CSRF checks too."""
    return await run_in_threadpool(accounts.session_for, gateway(conn).db, bearer_token(conn), session_policy(conn))


async def log_in(conn: HTTPConnection, username: str, password: str) -> tuple[str, accounts.Session] | None:
    """A new session for these staff credentials, else None; in a thread, since checking costs a hash."""
    login = functools.partial(accounts.login, cost=gateway(conn).settings.password_cost)
    return await run_in_threadpool(login, gateway(conn).db, username, password, session_policy(conn))


def session_policy(conn: HTTPConnection) -> accounts.SessionPolicy:
    policy: accounts.SessionPolicy = conn.app.state.session_policy
    return policy
