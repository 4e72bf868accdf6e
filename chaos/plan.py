"""What a chaos run does and when: its settings, and the fault schedule drawn from its seed.

The schedule is pure: the same settings and seed give the same faults at the same
moments (relative to the start of the load), so a failing run can be replayed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["kill", "redis", "stop", "duplicates", "poison"]
Process = tuple[str, int]  # a Procfile name and a replica index

# The injector waits up to this long for the replica to be frozen to hold unacked entries.
FREEZE_WAIT_S = 2.0
# A shorter load still has its faults spread over this long (the clerk and watchers keep going).
MIN_WINDOW_S = 15.0


@dataclass(frozen=True)
class ChaosConfig:
    """A chaos run's size and faults; ``short()`` is the one ``make test`` runs."""

    orders: int = 300
    rate: float = 20.0  # checkouts per second
    seed: int = 1
    shoppers: int = 8  # concurrent checkouts at most
    kills_per_process: int = 2  # kill -9 of every worker and of the web process
    kill_web: bool = True
    redis_kills: int = 2
    stops: int = 1  # SIGSTOP of a replica of ``replicated``, longer than the claim idle time
    replicated: str = "warehouse"
    replicas: int = 2
    claim_idle_ms: int = 3000
    duplicate_rounds: int = 4
    duplicates_per_round: int = 12
    poison: int = 3
    quiet_timeout_s: float = 180.0
    env: tuple[tuple[str, str], ...] = ()  # more environment for every process (e.g. database URLs)

    @property
    def load_seconds(self) -> float:
        """How long the checkouts take to go out at ``rate``."""
        return self.orders / self.rate

    @classmethod
    def short(cls, seed: int = 1) -> ChaosConfig:
        """About 60 orders with every fault kind at least once: part of ``make test``."""
        return cls(
            orders=60,
            rate=3.0,
            seed=seed,
            kills_per_process=1,
            redis_kills=1,
            duplicate_rounds=2,
            duplicates_per_round=8,
            poison=2,
        )


@dataclass(frozen=True)
class Fault:
    """One fault: what, to which process, when (seconds into the load) and for how long."""

    at: float
    kind: FaultKind
    target: str = ""
    replica: int = 0
    hold_s: float = 0.0  # down (kill, redis) or frozen (stop) for this long
    count: int = 0  # entries (duplicates, poison)

    @property
    def label(self) -> str:
        """The row of the report's fault table this fault counts in."""
        if self.kind == "kill":
            return f"kill -9 {self.target}" + (f" (replica {self.replica + 1})" if self.replica else "")
        if self.kind == "redis":
            return "kill -9 redis-server (AOF always)"
        if self.kind == "stop":
            return f"SIGSTOP {self.target} (replica {self.replica + 1}) {self.hold_s:g} s, then SIGCONT"
        if self.kind == "duplicates":
            return "re-XADD copies of stream entries (rounds)"
        return "poison entries XADDed (malformed)"


def schedule(config: ChaosConfig, processes: Sequence[Process]) -> list[Fault]:
    """Every fault of a run, in time order, drawn from ``config.seed``.

    Kills of one process fall in separate slices of the load window, so a process is
    up again before its next kill. The freeze lasts 1.5 claim idle times plus a second,
    so another replica's ``XAUTOCLAIM`` takes the frozen one's pending entries over; for
    that the other replicas and Redis stay up while it lasts (their faults fall outside).
    """
    rng = random.Random(config.seed)
    window = fault_window(config)
    start, end = 0.05 * window, 0.9 * window
    faults: list[Fault] = []
    freeze = config.claim_idle_ms * 1.5 / 1000 + 1.0
    busy: list[tuple[float, float]] = []
    for _ in range(config.stops):
        at = rng.uniform(start, max(start, end - freeze - FREEZE_WAIT_S))
        faults.append(Fault(at, "stop", config.replicated, rng.randrange(config.replicas), hold_s=freeze))
        busy.append((at, at + FREEZE_WAIT_S + freeze + 0.5))
    for name, replica in processes:
        if name == "web" and not config.kill_web:
            continue
        avoid = busy if name == config.replicated else []
        # A killed replica is back (started and reading) within about 3 s.
        for at in _spread(rng, start, end, config.kills_per_process, avoid, hold=3.0):
            faults.append(Fault(at, "kill", name, replica, hold_s=rng.uniform(0.3, 1.5)))
    for at in _spread(rng, start, end, config.redis_kills, busy, hold=3.0):
        faults.append(Fault(at, "redis", "redis", hold_s=rng.uniform(1.0, 3.0)))
    for at in _spread(rng, start, end, config.duplicate_rounds):
        faults.append(Fault(at, "duplicates", count=config.duplicates_per_round))
    for at in _spread(rng, start, end, config.poison):
        faults.append(Fault(at, "poison", count=1))
    return sorted(faults, key=lambda fault: fault.at)


def fault_window(config: ChaosConfig) -> float:
    """Seconds over which faults are spread: the load's, but long enough for the freeze and a Redis crash beside it."""
    return max(config.load_seconds, MIN_WINDOW_S)


def _spread(
    rng: random.Random,
    start: float,
    end: float,
    count: int,
    avoid: Sequence[tuple[float, float]] = (),
    hold: float = 0.0,
) -> list[float]:
    """``count`` moments, one at random in each of ``count`` equal slices of the time in [start, end]
    where a fault lasting ``hold`` would not overlap an ``avoid`` interval."""
    if count <= 0:
        return []
    free = [(start, end)]
    for low, high in avoid:
        free = [part for a, b in free for part in ((a, min(b, low - hold)), (max(a, high), b)) if part[1] > part[0]]
    total = sum(b - a for a, b in free)
    if total <= 0:
        free, total = [(start, end)], end - start
    moments = []
    for index in range(count):
        offset = (index + rng.uniform(0, 0.6)) * total / count
        for a, b in free:
            if offset <= b - a:
                moments.append(a + offset)
                break
            offset -= b - a
    return moments
