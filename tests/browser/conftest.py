"""Debian's chromium driven by Playwright, and a whole stack (the Procfile) per test process.

Playwright's own browser downloads are never used: the tests launch ``/usr/bin/chromium``
and are skipped (with the reason) where it is missing, except on CI (``CI`` set), where
they must run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, ViewportSize, expect, sync_playwright

from tests.browser.shop import ShopApi
from tests.support.stack import Stack, running_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
# The simulated carrier picks up and delivers a second after the previous step.
STACK_ENV = {"SHIP_DELAY_S": "1", "DELIVER_DELAY_S": "1"}
TIMEOUT_MS = 20_000

expect.set_options(timeout=TIMEOUT_MS)


class Visitors:
    """Fresh browser profiles (own cookies: own cart, own session), closed after the test."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []

    def new(self, viewport: ViewportSize = LAPTOP) -> BrowserContext:
        context = self.browser.new_context(viewport=viewport)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return context

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture(scope="session", autouse=True)
def chromium() -> Path:
    """Checked before anything else (autouse): no stack is started for tests that cannot run."""
    if not CHROMIUM.exists():
        reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; on CI the browser tests must run")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def playwright(chromium: Path) -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium: Path) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def visitors(browser: Browser) -> Iterator[Visitors]:
    people = Visitors(browser)
    try:
        yield people
    finally:
        people.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Iterator[Stack]:
    """The whole system for a test process's browser modules; tests pick their own products and orders.

    Shared across modules: starting a stack costs several seconds of CPU, and each module
    started its own. A test that stops a process starts it again before it ends.
    """
    with demo_stack(tmp_path_factory.mktemp("stack"), cold=True) as running:  # as the Procfile starts it
        yield running


@contextmanager
def demo_stack(data_dir: Path, *, cold: bool = False) -> Iterator[Stack]:
    """A whole stack, once its demo catalog is in the read model with its opening stock (``cold``: see ``Stack``)."""
    with running_stack(data_dir, env=STACK_ENV, cold=cold) as running:
        ShopApi(running).wait_for_catalog()
        yield running


@pytest.fixture(scope="module")
def api(stack: Stack) -> ShopApi:
    """The shop's JSON API; the demo catalog is in place (its stock as earlier modules left it)."""
    return ShopApi(stack)
