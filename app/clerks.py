"""Clerk accounts and sessions (API bearer tokens and browser sessions alike).

A dev clerk is bootstrapped from ``SHOP_CLERK_USER`` / ``SHOP_CLERK_PASSWORD``; with
``SHOP_ENV=production`` the gateway refuses to start with the dev defaults.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app import tables
from app.passwords import hash_password, verify_password
from app.tokens import new_token, token_hash
from workers.eventing import Database

DEV_USER = "clerk"
DEV_PASSWORD = "clerk-dev-password"
SESSION_TTL_S = 12 * 3600
# Verifying against a real hash when the user is unknown keeps the answer's timing
# from telling which usernames exist.
_DUMMY_HASH = hash_password(secrets.token_hex(8))


@dataclass(frozen=True)
class Session:
    username: str
    csrf_token: str


def ensure_clerk(db: Database, username: str, password: str) -> None:
    """Create the clerk, or set its password if it changed (web processes starting together may race)."""
    try:
        _ensure_clerk(db, username, password)
    except IntegrityError:  # another process created it first (PostgreSQL): check its password
        _ensure_clerk(db, username, password)


def _ensure_clerk(db: Database, username: str, password: str) -> None:
    with db.transaction() as conn:
        row = conn.execute(select(tables.clerks).where(tables.clerks.c.username == username)).first()
        if row is None:
            conn.execute(
                insert(tables.clerks).values(
                    username=username, password_hash=hash_password(password), created_at=time.time()
                )
            )
        elif not verify_password(password, row.password_hash):
            conn.execute(
                update(tables.clerks)
                .where(tables.clerks.c.username == username)
                .values(password_hash=hash_password(password))
            )


def login(db: Database, username: str, password: str) -> tuple[str, Session] | None:
    """A new session for valid credentials (a fresh id at every login), else None."""
    with db.snapshot() as conn:
        stored = conn.execute(
            select(tables.clerks.c.password_hash).where(tables.clerks.c.username == username)
        ).scalar()
    if not verify_password(password, stored or _DUMMY_HASH) or stored is None:
        return None
    token, session = new_token(), Session(username=username, csrf_token=secrets.token_urlsafe(24))
    now = time.time()
    with db.transaction() as conn:
        conn.execute(delete(tables.sessions).where(tables.sessions.c.expires_at < now))
        conn.execute(
            insert(tables.sessions).values(
                token_hash=token_hash(token),
                username=username,
                csrf_token=session.csrf_token,
                created_at=now,
                expires_at=now + SESSION_TTL_S,
            )
        )
    return token, session


def session_for(db: Database, token: str | None) -> Session | None:
    if not token:
        return None
    s = tables.sessions
    with db.snapshot() as conn:
        row = conn.execute(
            select(s.c.username, s.c.csrf_token).where(
                s.c.token_hash == token_hash(token), s.c.expires_at > time.time()
            )
        ).first()
    return Session(username=row.username, csrf_token=row.csrf_token) if row else None


def logout(db: Database, token: str | None) -> None:
    if token:
        with db.transaction() as conn:
            conn.execute(delete(tables.sessions).where(tables.sessions.c.token_hash == token_hash(token)))
