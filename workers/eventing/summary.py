"""A consumer's work in a few numbers, logged as one INFO line every few seconds at most.

One line per event is DEBUG; a busy shop's log shows these summaries and its business
facts instead, so it stays readable at hundreds of events a second.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("workers.eventing.consumer")

SUMMARY_INTERVAL_S = 5.0


class Summary:
    """Counts since the last line: batches, events handled, duplicates, failures, rows published."""

    def __init__(self, label: str, interval_s: float = SUMMARY_INTERVAL_S) -> None:
        self.label = label
        self.interval_s = interval_s
        self._reset(time.monotonic())

    def _reset(self, now: float) -> None:
        self._since = now
        self.batches = self.handled = self.duplicates = self.failed = self.published = self.left_over = 0

    def add_batch(self, *, handled: int, duplicates: int, failed: int, published: int, left_over: int) -> None:
        self.batches += 1
        self.handled += handled
        self.duplicates += duplicates
        self.failed += failed
        self.published += published
        self.left_over += left_over

    def log_if_due(self) -> None:
        """Log the counts if the interval has passed and there was work; then start again."""
        now = time.monotonic()
        if now - self._since < self.interval_s:
            return
        if self.batches:
            log.info(
                "%s: %d events in %d batches over %.1fs (%d duplicates, %d failed); "
                "published %d events, %d left to the relay",
                self.label,
                self.handled,
                self.batches,
                now - self._since,
                self.duplicates,
                self.failed,
                self.published,
                self.left_over,
            )
        self._reset(now)
