"""Shared fixtures: a real Redis (one per test process, emptied for each test) and throwaway SQL databases."""

from __future__ import annotations

import uuid
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
    # in this order) no minute-long run starts last and forms the tail. Whole modules move,
    # so a module's fixtures are still set up once; the order is the same on every worker,
    # as xdist requires (a stable sort on paths and marks only).
    weights: dict[Path, int] = {}
    for item in items:
        weights[item.path] = min(weights.get(item.path, _weight(item)), _weight(item))
    items.sort(key=lambda item: weights[item.path])


# Single runs of a minute or more, whole stacks started for one test each.
LONGEST_FIRST = (
    "tests/system/test_scale_failover.py",
    "tests/system/test_chaos.py",
    "tests/browser/test_scale_reconnect.py",
    "tests/system/test_retention.py",
    "tests/system/test_redis_away.py",
    "tests/system/test_projector_crash.py",
    "tests/workers/eventing/test_replication.py",
)


def _weight(item: pytest.Item) -> int:
    path = item.path.relative_to(item.config.rootpath).as_posix()
    if path in LONGEST_FIRST:
        return LONGEST_FIRST.index(path)
    if item.get_closest_marker("stack") or item.get_closest_marker("browser"):
        return len(LONGEST_FIRST)
    return len(LONGEST_FIRST) + 1
