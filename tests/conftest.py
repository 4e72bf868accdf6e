"""Shared fixtures: a real Redis (one per test process, emptied for each test) and throwaway SQL databases."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import DatabasePool
from tests.support.redis_server import RedisServer


@pytest.fixture
def unique() -> str:
    """A short random string, e.g. to give each test its own stream names."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def shared_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """This test process's ``redis-server``, lent to one test at a time by ``redis_server``."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_server(shared_redis_server: RedisServer) -> RedisServer:
    """A running, empty ``redis-server`` (on this process's port), which the test may kill and restart.

    It is this process's one server, emptied for each test (``RedisServer.empty``), or
    started afresh when the test before left it down: starting one per test cost a tenth
    of ``make test-fast``.
    """
    server = shared_redis_server
    if server.is_running:
        server.empty()
    else:
        server.restart(empty=True)
    return server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of this test's Redis (database 0)."""
    return redis_server.url


@pytest.fixture(scope="session")
def postgres_pool() -> Iterator[DatabasePool]:
    """This test process's PostgreSQL databases, reused test after test (emptied in between)."""
    pool = DatabasePool("test")
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def postgres_url(postgres_pool: DatabasePool) -> Iterator[str]:
    """An empty PostgreSQL database for this test; skipped if none is reachable (failed in CI)."""
    with postgres_pool.database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path, unique: str) -> str:
    """A URL for a new SQLite file in this test's temporary directory."""
    return f"sqlite:///{tmp_path / unique}.db"


@pytest.fixture(params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run the test once per supported database, with a fresh database each time."""
    # Looked up lazily so the sqlite run does not need (or skip for lack of) PostgreSQL.
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what starts a whole stack or a browser, wherever it lives, so ``make test-fast`` can leave it out.

    A test is marked by its folder (``tests/system``, ``tests/browser``) or by asking for a
    ``stack`` or ``browser`` fixture, so a new test is marked without anyone remembering to.
    """
    for item in items:
        parts = item.path.parts
        fixtures = set(getattr(item, "fixturenames", ()))
        if "system" in parts or fixtures & {"stack", "web_process"}:
            item.add_marker(pytest.mark.stack)
        if "browser" in parts or fixtures & {"browser", "visitors", "page"}:
            item.add_marker(pytest.mark.browser)
    # Longest first, so that under pytest-xdist (``--dist loadscope`` hands out whole modules
    # in this order; the Makefile turns off its own reordering by module size) no long run
    # starts last and forms the tail. Whole modules move, so a module's fixtures are still set
    # up once; the order is the same on every worker, as xdist requires (a stable sort on
    # paths, marks and counts only).
    sizes = Counter(item.path for item in items)
    weights: dict[Path, tuple[int, int]] = {}
    for item in items:
        weights[item.path] = min(weights.get(item.path, _weight(item, sizes)), _weight(item, sizes))
    items.sort(key=lambda item: weights[item.path])


# The modules that take longest in make test (wall time under four workers, 2026-12-02), longest first.
LONGEST_FIRST = (
    "tests/browser/test_live_stock.py",
    "tests/system/test_scale_failover.py",
    "tests/browser/test_ops_console.py",
    "tests/browser/test_clerk_access.py",
    "tests/system/test_chaos.py",
    "tests/system/test_retention.py",
    "tests/browser/test_live_catalog.py",
    "tests/browser/test_screenshots.py",
    "tests/workers/eventing/test_delivery.py",
    "tests/workers/eventing/test_replication.py",
    "tests/workers/eventing/test_migrations.py",
    "tests/security/test_fuzz.py",
    "tests/system/test_redis_away.py",
    "tests/browser/test_scale_reconnect.py",
)


def _weight(item: pytest.Item, sizes: Counter[Path]) -> tuple[int, int]:
    """The listed modules in their order, then the other stack and browser modules, then the
    rest; within a group, modules with more tests first (as xdist itself would order them)."""
    path = item.path.relative_to(item.config.rootpath).as_posix()
    if path in LONGEST_FIRST:
        return LONGEST_FIRST.index(path), 0
    if item.get_closest_marker("stack") or item.get_closest_marker("browser"):
        return len(LONGEST_FIRST), -sizes[item.path]
    return len(LONGEST_FIRST) + 1, -sizes[item.path]
