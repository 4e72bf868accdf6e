"""Staff accounts (clerks and managers) and their sessions (API bearer tokens and browser sessions alike).

A dev clerk is bootstrapped from ``SHOP_CLERK_USER`` / ``SHOP_CLERK_PASSWORD`` and a dev
manager from ``SHOP_MANAGER_USER`` / ``SHOP_MANAGER_PASSWORD``; with ``SHOP_ENV=production``
the gateway refuses to start with the dev defaults.
"""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.auth.passwords import Cost, hash_password, made_at, verify_password
from app.auth.roles import Role
from app.auth.tokens import new_token, token_hash
from app.read_model import tables
from workers.eventing import Database, Settings

DEV_USER = "clerk"
DEV_PASSWORD = "clerk-dev-password"
DEV_MANAGER_USER = "manager"
DEV_MANAGER_PASSWORD = "manager-dev-password"
SESSION_TTL_S = 12 * 3600  # the longest a session (or bearer token) lives, however busy
SESSION_IDLE_S = 30 * 60  # how long one lives unused


@functools.cache
def _dummy_hash(cost: Cost) -> str:
    # Verifying against a real hash of the accounts' cost when the user is unknown keeps the
    # answer's timing from telling which usernames exist. Made once, at start-up (``prepare``).
    return hash_password(secrets.token_hex(8), cost)


def prepare(*, cost: Cost) -> None:
    """What logins need ready before the first one: the hash an unknown user is checked against."""
    _dummy_hash(cost)


@dataclass(frozen=True)
class Session:
    username: str
    csrf_token: str
    role: str = "clerk"


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions and bearer tokens live: ``idle_s`` unused, ``lifetime_s`` at most."""

    idle_s: float = SESSION_IDLE_S
    lifetime_s: float = SESSION_TTL_S

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        lifetime = settings.number("SESSION_LIFETIME_S", SESSION_TTL_S)
        return cls(idle_s=min(lifetime, settings.number("SESSION_IDLE_S", SESSION_IDLE_S)), lifetime_s=lifetime)

    def expiry(self, created_at: float, now: float) -> float:
        """When a session created at ``created_at`` and used ``now`` ends, unless used again."""
        return min(now + self.idle_s, created_at + self.lifetime_s)


def ensure_clerk(db: Database, username: str, password: str, role: Role = "clerk", *, cost: Cost) -> None:
    """Create the staff account, or set its password, role and hash cost if they changed (web
    processes starting together may race)."""
    try:
        _ensure_clerk(db, username, password, role, cost)
    except IntegrityError:  # another process created it first (PostgreSQL): check its password
        _ensure_clerk(db, username, password, role, cost)


def _ensure_clerk(db: Database, username: str, password: str, role: Role, cost: Cost) -> None:
    with db.transaction() as conn:
        row = conn.execute(select(tables.clerks).where(tables.clerks.c.username == username)).first()
        if row is None:
            conn.execute(
                insert(tables.clerks).values(
                    username=username, password_hash=hash_password(password, cost), created_at=time.time(), role=role
                )
            )
            return
        changes: dict[str, str] = {} if row.role == role else {"role": role}
        if not made_at(row.password_hash, cost) or not verify_password(password, row.password_hash):
            changes["password_hash"] = hash_password(password, cost)
        if changes:
            conn.execute(update(tables.clerks).where(tables.clerks.c.username == username).values(**changes))


def login(
    db: Database,
    username: str,
    password: str,
    policy: SessionPolicy,
    now: float | None = None,
    *,
    cost: Cost,
) -> tuple[str, Session] | None:
    """A new session for valid credentials (a fresh id at every login), else None.

    ``cost`` is the accounts' hash cost, which an unknown user's check costs too."""
    with db.snapshot() as conn:
        account = conn.execute(
            select(tables.clerks.c.password_hash, tables.clerks.c.role).where(tables.clerks.c.username == username)
        ).first()
    stored = account.password_hash if account else None
    if not verify_password(password, stored or _dummy_hash(cost)) or account is None:
        return None
    token = new_token()
    session = Session(username=username, csrf_token=secrets.token_urlsafe(24), role=account.role)
    now = time.time() if now is None else now
    with db.transaction() as conn:
        conn.execute(delete(tables.sessions).where(tables.sessions.c.expires_at < now))
        conn.execute(
            insert(tables.sessions).values(
                token_hash=token_hash(token),
                username=username,
                csrf_token=session.csrf_token,
                created_at=now,
                expires_at=policy.expiry(now, now),
            )
        )
    return token, session


def session_for(db: Database, token: str | None, policy: SessionPolicy, now: float | None = None) -> Session | None:
    """The live session of a session cookie or bearer token; using it moves its idle deadline on."""
    if not token:
        return None
    now = time.time() if now is None else now
    s, staff = tables.sessions, tables.clerks
    hashed = token_hash(token)
    with db.snapshot() as conn:
        row = conn.execute(
            select(s.c.username, s.c.csrf_token, s.c.created_at, s.c.expires_at, staff.c.role)
            .join(staff, staff.c.username == s.c.username)
            .where(s.c.token_hash == hashed)
        ).first()
    if row is None or row.expires_at <= now or row.created_at + policy.lifetime_s <= now:
        return None
    renewed = policy.expiry(row.created_at, now)
    # Written only when the deadline has moved by a good part of the idle time: a busy
    # clerk's every request would otherwise be a write.
    if abs(renewed - row.expires_at) > policy.idle_s / 10:
        with db.transaction() as conn:
            conn.execute(update(s).where(s.c.token_hash == hashed).values(expires_at=renewed))
    return Session(username=row.username, csrf_token=row.csrf_token, role=row.role)


def logout(db: Database, token: str | None) -> None:
    if token:
        with db.transaction() as conn:
            conn.execute(delete(tables.sessions).where(tables.sessions.c.token_hash == token_hash(token)))
