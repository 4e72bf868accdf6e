"""Gateways under test: one shared per test module, or one of a test's own (to kill its Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.storefront import Storefront, running_storefront
from tests.support.redis_server import RedisServer


@pytest.fixture(scope="module")
def shared_storefront(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storefront]:
    """A gateway and its Redis for a whole module: tests use their own products and orders."""
    data_dir = tmp_path_factory.mktemp("gateway")
    server = RedisServer(data_dir / "redis")
    server.start()
    try:
        with running_storefront(server.url, data_dir) as storefront:
            yield storefront
    finally:
        server.kill()


@pytest.fixture
def storefront(shared_storefront: Storefront) -> Storefront:
    """The module's gateway, seen by a browser with no cookies yet."""
    shared_storefront.http.cookies.clear()
    return shared_storefront


@pytest.fixture
def own_storefront(redis_server: RedisServer, tmp_path: Path) -> Iterator[Storefront]:
    """A gateway on this test's own Redis (``redis_server``), which the test may kill and restart."""
    with running_storefront(redis_server.url, tmp_path) as storefront:
        yield storefront
