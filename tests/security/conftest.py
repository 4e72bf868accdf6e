"""Gateways for the security suite (the shared one of tests/app, one behind HTTPS, one with a tight
login throttle) and the email service as tests/workers/email wires it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.conftest import shared_storefront, storefront
from tests.app.storefront import Storefront, running_storefront
from tests.support.redis_server import RedisServer
from tests.workers.email.conftest import email_service, mail_dir, start_email

__all__ = [
    "email_service",
    "https_storefront",
    "mail_dir",
    "public_storefront",
    "shared_storefront",
    "start_email",
    "storefront",
    "throttled_storefront",
]

LOGIN_ATTEMPTS = 5


@pytest.fixture(scope="module")
def https_storefront(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storefront]:
    """A gateway served as behind TLS (the browser reaches it at ``https://testserver``)."""
    data_dir = tmp_path_factory.mktemp("https-gateway")
    server = RedisServer(data_dir / "redis")
    server.start()
    try:
        with running_storefront(server.url, data_dir, base_url="https://testserver") as https:
            yield https
    finally:
        server.kill()


@pytest.fixture
def throttled_storefront(redis_server: RedisServer, tmp_path: Path) -> Iterator[Storefront]:
    """A gateway of this test's own that allows ``LOGIN_ATTEMPTS`` logins per address and minute."""
    env = {"LOGIN_ATTEMPTS_PER_MINUTE": str(LOGIN_ATTEMPTS)}
    with running_storefront(redis_server.url, tmp_path, env=env, wait_for_hub=False) as throttled:
        yield throttled


PUBLIC_URL = "http://testserver"


@pytest.fixture(scope="module")
def public_storefront(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storefront]:
    """A gateway that knows its public origin (``SHOP_PUBLIC_URL``): only pages of that origin may post."""
    data_dir = tmp_path_factory.mktemp("public-gateway")
    server = RedisServer(data_dir / "redis")
    server.start()
    try:
        with running_storefront(server.url, data_dir, env={"SHOP_PUBLIC_URL": PUBLIC_URL}) as public:
            yield public
    finally:
        server.kill()
