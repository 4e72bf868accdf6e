"""``python -m chaos [--orders 300 --rate 20 --seed N]``: a chaos run; exits non-zero if an invariant fails."""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import sys
import tempfile
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from chaos.databases import postgres_databases
from chaos.plan import ChaosConfig
from chaos.report import render_markdown, render_text
from chaos.run import run_chaos

REPORT = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
# Everything from this line on in the report is other sections (retention, the soak): kept.
KEPT_FROM = "<!-- make chaos keeps everything below this line -->"


def main(argv: list[str] | None = None) -> int:
    defaults = ChaosConfig()
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--orders", type=int, default=defaults.orders, help="checkouts to send (default %(default)s)")
    parser.add_argument("--rate", type=float, default=defaults.rate, help="checkouts a second (default %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="the seed of the fault schedule and carts (random)")
    parser.add_argument("--postgres", action="store_true", help="every service on a fresh PostgreSQL database")
    parser.add_argument("--keep", action="store_true", help="keep the stack's data dir (kept anyway on failure)")
    parser.add_argument(
        "--no-report", action="store_true", help=f"do not overwrite {REPORT.relative_to(REPORT.parents[1])}"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    data_dir = Path(tempfile.mkdtemp(prefix="chaos-"))
    databases: AbstractContextManager[dict[str, str]] = postgres_databases() if args.postgres else nullcontext({})
    with databases as urls:
        config = ChaosConfig(orders=args.orders, rate=args.rate, seed=seed, env=tuple(urls.items()))
        report = run_chaos(config, data_dir)
    print(render_text(report))
    if not args.no_report:
        previous = REPORT.read_text() if REPORT.exists() else ""
        kept = previous[previous.index(KEPT_FROM) :] if KEPT_FROM in previous else ""
        REPORT.write_text(render_markdown(report) + ("\n" + kept if kept else ""))
        print(f"written to {REPORT}")
    if report.ok and not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    else:
        print(f"the stack's data dir (logs, databases, mail) is kept in {data_dir}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
