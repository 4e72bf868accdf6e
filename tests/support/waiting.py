"""Polling with a deadline: tests wait for an outcome instead of sleeping and hoping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float = 10.0,
    message: str | Callable[[], str] = "condition not met",
    interval: float = 0.05,
) -> T:
    """Call ``predicate`` until it returns something truthy (not None, False, 0 or empty), and return that.

    Raises ``AssertionError`` with ``message`` (a string, or a function called only on
    failure, e.g. to add a log tail) and the last value seen once ``timeout`` seconds pass.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"{text} (after {timeout}s; last value: {value!r})")
        time.sleep(interval)
