"""Throwaway PostgreSQL databases for tests.

Each test gets a database of its own on the local server, so tests never see each
other's rows. ``postgres_url_or_skip`` creates one and drops it afterwards (about a
second of the server's time for the pair); ``DatabasePool`` hands a test process's
tests the same few databases in turn, emptied in between, which costs milliseconds.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Generator, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
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
    admin = _admin_engine()
    try:
        name = _create_database(admin, prefix)
        try:
            yield _database_url(name)
        finally:
            _drop_database(admin, name)
    finally:
        admin.dispose()


class DatabasePool:
    """Databases for one test process's tests, each handed out empty and emptied when given back.

    ``CREATE DATABASE`` and ``DROP DATABASE`` cost the server about a second a pair;
    dropping a used database's schemas and creating ``public`` again costs milliseconds
    and leaves the database as it was made: no tables, sequences, types or functions.
    The databases are dropped by :meth:`close` (a session fixture's teardown).
    """

    def __init__(self, prefix: str) -> None:
        _check_prefix(prefix)
        self.prefix = prefix
        self._admin: Engine | None = None
        self._idle: list[str] = []
        self._made: list[str] = []

    @contextmanager
    def database(self) -> Iterator[str]:
        """The URL of an empty database, for the block's time; skipped (or failed in CI) if unreachable."""
        if self._admin is None:
            self._admin = _admin_engine()
        name = self._idle.pop() if self._idle else self._make()
        try:
            yield _database_url(name)
        finally:
            try:
                _empty_database(self._admin, name)
            except Exception:
                # Whatever stopped the emptying, the database goes rather than back.
                self._made.remove(name)
                _drop_database(self._admin, name)
                raise
            self._idle.append(name)

    def close(self) -> None:
        if self._admin is None:
            return
        try:
            for name in self._made:
                _drop_database(self._admin, name)
        finally:
            self._made.clear()
            self._idle.clear()
            self._admin.dispose()
            self._admin = None

    def _make(self) -> str:
        assert self._admin is not None
        name = _create_database(self._admin, self.prefix)
        self._made.append(name)
        return name


def _check_prefix(prefix: str) -> None:
    if not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(f"database prefix must match {_PREFIX_RE.pattern}: {prefix!r}")


def _admin_engine() -> Engine:
    # NullPool: no admin connection may linger, or it would outlive the test.
    return create_engine(
        make_url(admin_url()),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",  # CREATE/DROP DATABASE refuse to run in a transaction
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def _database_url(name: str) -> str:
    return make_url(admin_url()).set(database=name).render_as_string(hide_password=False)


def _create_database(admin: Engine, prefix: str) -> str:
    """Create ``<prefix>_<12 hex>``; skip the test (fail it in CI) if the server does not answer."""
    _check_prefix(prefix)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        message = f"PostgreSQL not reachable at {admin.url.render_as_string()}: {reason}"
        if running_in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return name


def _drop_database(admin: Engine, name: str) -> None:
    # FORCE ends sessions the test left open (e.g. an undisposed
    # engine's pool), which would otherwise block the drop.
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _empty_database(admin: Engine, name: str) -> None:
    """Drop every schema the test could have filled and make ``public`` as a new database has it."""
    with admin.connect() as conn:
        # As DROP DATABASE ... WITH (FORCE) would: a session the test left open could hold locks.
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name},
        )
    engine = create_engine(
        make_url(_database_url(name)),
        poolclass=NullPool,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    try:
        with engine.begin() as conn:
            schemas = conn.execute(
                text(
                    "SELECT nspname FROM pg_namespace"
                    " WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
                    " AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'"
                )
            ).scalars()
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(text("CREATE SCHEMA public AUTHORIZATION pg_database_owner"))
            conn.execute(text("COMMENT ON SCHEMA public IS 'standard public schema'"))
            conn.execute(text("GRANT USAGE ON SCHEMA public TO PUBLIC"))
    finally:
        engine.dispose()
