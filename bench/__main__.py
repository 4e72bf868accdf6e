"""``make bench``: run every benchmark on throwaway servers and print the figures.

Sizes come from the environment so that a smoke run is quick: ``BENCH_EVENTS``,
``BENCH_ROUNDS`` and ``BENCH_FASTSTREAM_DEFAULT_EVENTS`` (backbone), ``BENCH_SOCKETS``
(live, comma-separated), ``BENCH_ORDERS``, ``BENCH_CLIENTS``, ``BENCH_RATE``,
``BENCH_RATE_S`` and ``BENCH_WARMUP`` (end to end).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from bench import backbone, endtoend, live


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    env = os.environ
    events = int(env.get("BENCH_EVENTS", backbone.EVENTS))
    rounds = int(env.get("BENCH_ROUNDS", backbone.ROUNDS))
    default_events = int(env.get("BENCH_FASTSTREAM_DEFAULT_EVENTS", backbone.FASTSTREAM_DEFAULT_EVENTS))
    sockets = tuple(int(n) for n in env.get("BENCH_SOCKETS", ",".join(map(str, live.SIZES))).split(","))
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        print(backbone.report(backbone.run(Path(workdir) / "backbone", events, rounds, default_events)), flush=True)
        print()
        print(live.report(live.run(Path(workdir) / "live", sockets)), flush=True)
        print()
        print(endtoend.report(endtoend.run(Path(workdir) / "endtoend")), flush=True)


if __name__ == "__main__":
    main()
