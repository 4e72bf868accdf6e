"""Backoff doubles from its first delay up to its cap, and never overflows however long it goes on."""

from __future__ import annotations

from workers.eventing.backoff import Backoff, capped_delay


def test_the_delay_doubles_from_the_first_up_to_the_cap() -> None:
    assert [capped_delay(n, 1.0, 5.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_retry_after_thousands_of_failures_waits_the_cap() -> None:
    assert capped_delay(5_000, 0.2, 300.0) == 300.0


def test_backoff_starts_again_from_the_first_delay_after_a_reset() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0)
    first, second = backoff.next_delay(), backoff.next_delay()
    assert 0.8 <= first <= 1.0 and 1.6 <= second <= 2.0
    backoff.reset()
    assert 0.8 <= backoff.next_delay() <= 1.0
