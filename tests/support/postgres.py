"""Throwaway PostgreSQL databases for tests.

Each test gets its own freshly created database on the local server, so tests
never see each other's rows and need no cleanup beyond dropping it.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Generator

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CONNECT_TIMEOUT_SECONDS = 2
# The prefix goes into an SQL identifier; keep it to characters that never
# need escaping (PostgreSQL identifiers are at most 63 bytes).
_PREFIX_RE = re.compile(r"[a-z_][a-z0-9_]{0,49}")


def admin_url() -> str:
    """The URL of the maintenance database, from ``TEST_POSTGRES_URL`` if set."""
    return os.environ.get("TEST_POSTGRES_URL") or DEFAULT_ADMIN_URL


def running_in_ci() -> bool:
    """Whether env ``CI`` is set (CI has PostgreSQL, so missing it is an error)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def postgres_url_or_skip(prefix: str) -> Generator[str, None, None]:
    """Create a database named ``<prefix>_<12 hex>``, yield its URL, then drop it.

    Meant for ``yield from`` inside a fixture. If the server does not answer
    within 2 s the test is skipped, or failed when running in CI.
    """
    if not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(f"database prefix must match {_PREFIX_RE.pattern}: {prefix!r}")
    url = make_url(admin_url())
    # NullPool: no admin connection may linger, or it would outlive the test.
    admin = create_engine(
        url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",  # CREATE/DROP DATABASE refuse to run in a transaction
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except OperationalError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            message = f"PostgreSQL not reachable at {url.render_as_string()}: {reason}"
            if running_in_ci():
                pytest.fail(message)
            pytest.skip(message)
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            # FORCE ends sessions the test left open (e.g. an undisposed
            # engine's pool), which would otherwise block the drop.
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
