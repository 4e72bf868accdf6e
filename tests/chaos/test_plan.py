"""The fault schedule: seeded, every process killed as often as asked, the freeze left alone."""

from __future__ import annotations

from collections import Counter

from chaos.plan import ChaosConfig, schedule

PROCESSES = [
    ("web", 0),
    ("projector", 0),
    ("orders", 0),
    ("payments", 0),
    ("warehouse", 0),
    ("warehouse", 1),
    ("email", 0),
]


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert schedule(ChaosConfig(seed=3), PROCESSES) == schedule(ChaosConfig(seed=3), PROCESSES)
    assert schedule(ChaosConfig(seed=3), PROCESSES) != schedule(ChaosConfig(seed=4), PROCESSES)


def test_every_process_is_killed_as_often_as_asked_and_every_fault_kind_comes() -> None:
    config = ChaosConfig(seed=9, kills_per_process=2)

    faults = schedule(config, PROCESSES)

    kills = Counter((f.target, f.replica) for f in faults if f.kind == "kill")
    assert kills == dict.fromkeys(PROCESSES, 2)
    kinds = Counter(f.kind for f in faults)
    assert kinds["redis"] == config.redis_kills and kinds["stop"] == config.stops
    assert kinds["duplicates"] == config.duplicate_rounds and kinds["poison"] == config.poison
    assert [f.at for f in faults] == sorted(f.at for f in faults)


def test_the_web_process_is_spared_when_asked() -> None:
    faults = schedule(ChaosConfig(seed=1, kill_web=False), PROCESSES)

    assert not [f for f in faults if f.target == "web"]


def test_neither_redis_nor_the_frozen_workers_replicas_are_killed_while_it_is_frozen() -> None:
    for seed in range(20):
        config = ChaosConfig.short(seed=seed)
        faults = schedule(config, PROCESSES)
        (stop,) = [f for f in faults if f.kind == "stop"]
        assert stop.hold_s > config.claim_idle_ms / 1000
        for fault in faults:
            if fault.kind == "redis" or (fault.kind == "kill" and fault.target == stop.target):
                longest = 3.0 if fault.kind == "redis" else 1.5  # down at most this long
                assert fault.at + longest <= stop.at or fault.at >= stop.at + stop.hold_s, (seed, fault, stop)
