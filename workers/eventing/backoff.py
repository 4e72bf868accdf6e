"""Capped exponential backoff, for waiting out Redis or a failing handler."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from ``initial`` up to ``maximum``, with a little jitter."""

    def __init__(self, initial: float = 0.05, maximum: float = 2.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._attempt = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * (2**self._attempt))
        self._attempt += 1
        return float(delay * random.uniform(0.8, 1.0))

    def reset(self) -> None:
        self._attempt = 0
