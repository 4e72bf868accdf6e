"""Whole stacks for the system tests: one shared by a test process's modules, and fresh ones for special settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.stack import Stack
from tests.system.shop_client import ShopClient

DEMO_PRODUCTS = 12

StackFactory = Callable[..., Stack]


def start(
    data_dir: Path, env: Mapping[str, str] | None = None, without: tuple[str, ...] = (), *, cold: bool = False
) -> Stack:
    """Start every Procfile process but ``without`` (Redis always runs); ``cold``: see ``Stack``."""
    stack = Stack(data_dir, env, cold=cold)
    try:
        stack.start(*[name for name in stack.commands if name not in ("redis", *without)])
    except BaseException:
        stack.stop()
        raise
    return stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system, shared by a test process's system modules: each test uses its own orders
    and products (a stack costs several seconds of CPU to start; each module started its own)."""
    # Started as the Procfile starts it, each process a new interpreter: the stacks of
    # single tests are forks of a preloaded one (tests/support/launch.py).
    shared = start(tmp_path_factory.mktemp("stack"), cold=True)
    try:
        with ShopClient(shared.url) as shop:
            shop.wait_for_catalog(DEMO_PRODUCTS)
        yield shared
    finally:
        shared.stop()


@pytest.fixture
def shop(stack: Stack) -> Iterator[ShopClient]:
    with ShopClient(stack.url) as client:
        yield client


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator[StackFactory]:
    """Start a stack of this test's own (``env``, ``without`` processes), with its catalog in place."""
    started: list[Stack] = []

    def factory(env: Mapping[str, str] | None = None, without: tuple[str, ...] = ()) -> Stack:
        stack = start(tmp_path / f"stack{len(started)}", env, without)
        started.append(stack)
        with ShopClient(stack.url) as client:
            client.wait_for_catalog(DEMO_PRODUCTS)
        return stack

    try:
        yield factory
    finally:
        for stack in started:
            stack.stop()
