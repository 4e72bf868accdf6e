"""One database per service: SQLite (WAL) by default, PostgreSQL by URL.

SQLite durability, chosen on purpose:
- ``journal_mode=WAL`` so readers never block the writer (the relay reads while a
  handler writes) and several replicas of a service can share the file;
- ``synchronous=FULL``: every commit is fsynced before it returns. An event is acked
  in Redis only after its effect is committed, so the commit must survive a power
  cut as well as a ``kill -9``; batching many events per transaction keeps the cost
  of the fsync small. Marking outbox rows sent is the exception (``durable=False``):
  a lost mark only publishes the row again;
- write transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the
  ``busy_timeout`` instead of failing halfway with "database is locked";
- the threads of one process take turns, first come first served, before ``BEGIN``
  (``Turns``): SQLite's busy handler polls with growing sleeps, so forty threads polling
  one file starve some of them past the timeout (seen under a 64-client checkout
  burst), while a queue hands the turn on the moment it is free. What is left to the
  busy timeout is the few processes sharing a file. A writer that still waits out the timeout gets
  ``Busy``, which the gateway answers with 503 and ``Retry-After``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, MetaData, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from workers.eventing.settings import Settings

BUSY_TIMEOUT_MS = 10_000


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (an order's lines, customer and history) through orjson: the standard
# library's encoder was 4-5% of the orders worker's CPU once the SQL was cheap (profiled).
JSON_CODEC: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
# Processes sharing a database (replicas, the gateway's web and projector) migrate it at
# start (workers/eventing/schema.py); on PostgreSQL this advisory lock makes them take turns.
SCHEMA_LOCK = 0x5C4E_3A7A
WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024


class Busy(Exception):
    """A write transaction waited out the busy timeout: the database is busy; try again shortly."""


class Turns:
    """A lock handed on in the order it was asked for (``threading.Lock`` promises no order)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held:
                self._held = True
                return True
            mine = threading.Lock()
            mine.acquire()
            self._waiting.append(mine)
        if mine.acquire(timeout=timeout):
            return True  # handed on by release(): the turn is ours
        with self._guard:
            if mine in self._waiting:
                self._waiting.remove(mine)
                return False
        return True  # handed on just as the wait ran out

    def release(self) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().release()  # still held: it passes to the next in line
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        return len(self._waiting)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Database:
    """A service's own database: an engine and the tables the service declared."""

    def __init__(self, url: str, metadata: MetaData | None = None, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.url = normalise_url(url)
        self.metadata = metadata if metadata is not None else MetaData()
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        self.busy_timeout_ms = busy_timeout_ms
        self.engine = _sqlite_engine(self.url, busy_timeout_ms) if self.is_sqlite else _server_engine(self.url)
        self._writers = Turns()

    def create_tables(self) -> None:
        """Create the declared tables that do not exist yet; safe from several processes at once.

        For tables without a migration history (tests, benchmarks): a service's database is
        migrated instead (``workers.eventing.schema.upgrade``).

        On SQLite the transaction starts with ``BEGIN IMMEDIATE``, so a second process waits
        for the first; on PostgreSQL concurrent ``CREATE TABLE``s of one name would collide.
        """
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            self.metadata.create_all(conn)

    @classmethod
    def for_service(cls, settings: Settings, service: str, metadata: MetaData) -> Database:
        """The service's database as configured: ``<SERVICE>_DATABASE_URL`` and ``DB_BUSY_TIMEOUT_MS``."""
        busy_ms = settings.integer("DB_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)
        return cls(settings.database_url(service), metadata, busy_timeout_ms=busy_ms)

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Connection]:
        """A connection inside one transaction: committed on exit, rolled back on error.

        ``durable=False`` is for bookkeeping whose loss is harmless (marking outbox rows
        sent: lost, they are published again and the inboxes skip them). On SQLite its
        commit skips the fsync: it survives a killed process, and the next durable
        commit makes it durable too; only a power cut in between can lose it.
        """
        if not self.is_sqlite:
            with self.engine.begin() as conn:
                yield conn
            return
        if not self._writers.acquire(timeout=self.busy_timeout_ms / 1000):
            raise Busy(f"{self!r}: no turn to write within {self.busy_timeout_ms} ms")
        try:
            with _busy_as_busy(self):
                if durable:
                    with self.engine.begin() as conn:
                        yield conn
                else:
                    with self._fast_commit() as conn:
                        yield conn
        finally:
            self._writers.release()

    @contextmanager
    def _fast_commit(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA synchronous=NORMAL")
            try:
                with conn.begin():
                    yield conn
            finally:
                driver.execute("PRAGMA synchronous=FULL")

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only transaction; on SQLite it does not take the write lock."""
        with self.engine.connect() as conn:
            conn.execution_options(read_only=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"


@contextmanager
def _busy_as_busy(db: Database) -> Iterator[None]:
    try:
        yield
    except (OperationalError, sqlite3.OperationalError) as exc:
        # The driver's own error where BEGIN goes straight to it (below), SQLAlchemy's elsewhere.
        if "database is locked" in str(getattr(exc, "orig", exc)):
            raise Busy(f"{db!r}: the database stayed locked for {db.busy_timeout_ms} ms") from exc
        raise


def _use_wal(cursor: Any, timeout_s: float) -> None:
    """Put the file in WAL mode (it stays so); taking turns with processes opening it at the same moment.

    Switching the journal mode does not wait on the busy timeout: while another process
    holds the file (one migrating a fresh database, say) it fails at once with "database
    is locked". Once any process has switched it, the others find it in WAL and change nothing.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_engine(url: str, busy_timeout_ms: int) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # One connection per thread, opened on demand; NullPool would reopen (and re-run the
    # pragmas) on every transaction, which costs more than the transaction itself.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        **JSON_CODEC,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own
        # transaction handling would start a deferred transaction instead).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _use_wal(cursor, busy_timeout_ms / 1000)
        cursor.execute("PRAGMA synchronous=FULL")
        # After a checkpoint SQLite reuses the -wal file but never shrinks it; this cap
        # makes it truncate the file back (retention's periodic checkpoint does the rest).
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get("read_only", False)
        # Straight to the driver: every transaction begins here, and a statement through
        # SQLAlchemy's execution machinery costs several times the BEGIN itself (profiled).
        conn.connection.driver_connection.execute("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")  # type: ignore[union-attr]

    return engine


def _server_engine(url: str) -> Engine:
    if url.startswith("postgresql"):
        return create_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True, **JSON_CODEC)
    return create_engine(url, poolclass=NullPool)
