"""Printing benchmark figures as a plain-text table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured throughput: how many events in how many seconds."""

    name: str
    events: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")

    @property
    def cpu_us_per_event(self) -> float:
        """CPU time (all threads) per event: what a busy machine changes least."""
        return self.cpu_seconds / self.events * 1e6


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; numbers (right-aligned) from the second column on."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [_line(headers, widths), "  ".join("-" * width for width in widths)]
    lines += [_line(row, widths) for row in rows]
    return "\n".join(lines)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    parts = [cells[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
    return "  ".join(parts).rstrip()


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile of ``values`` (NaN when there are none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def met(ok: bool) -> str:
    return "yes" if ok else "NO"
