"""Capped exponential backoff, for waiting out Redis, a failing handler or a failing send."""

from __future__ import annotations

import random

# 2.0 ** n as a float overflows after ~1,000 doublings; no cap needs more than this many.
MAX_DOUBLINGS = 30


def capped_delay(attempt: int, initial: float, maximum: float) -> float:
    """The delay before retry number ``attempt`` (1 for the first): ``initial`` doubled each time, up to ``maximum``."""
    return float(min(maximum, initial * 2.0 ** min(max(attempt - 1, 0), MAX_DOUBLINGS)))


class Backoff:
    """Delays that double from ``initial`` up to ``maximum``, with a little jitter."""

    def __init__(self, initial: float = 0.05, maximum: float = 2.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._attempt = 0

    def next_delay(self) -> float:
        self._attempt += 1
        return capped_delay(self._attempt, self.initial, self.maximum) * random.uniform(0.8, 1.0)

    def reset(self) -> None:
        self._attempt = 0
