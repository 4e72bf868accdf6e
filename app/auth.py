"""Who is calling: a clerk with a bearer token (API) or a session cookie (browser)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from app import clerks
from app.errors import ApiError
from app.state import gateway

SESSION_COOKIE = "storefront_session"


def bearer_token(conn: HTTPConnection) -> str | None:
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_clerk(conn: HTTPConnection) -> clerks.Session | None:
    token = bearer_token(conn) or conn.cookies.get(SESSION_COOKIE)
    return await run_in_threadpool(clerks.session_for, gateway(conn).db, token)


async def require_clerk(conn: HTTPConnection) -> clerks.Session:
    session = await current_clerk(conn)
    if session is None:
        raise ApiError(401, "Clerks only: log in first (POST /api/login) and send Authorization: Bearer <token>.")
    return session
