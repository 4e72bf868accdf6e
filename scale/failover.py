"""The failover run: the scaled layout under load, its Redis primary and one web process killed.

Orders go through HAProxy while, a third of the way in, the replica is cut off for
``LAG_S`` (frozen, its replication link closed: a partition, or a replica on a busy
machine) and then the primary is ``kill -9``ed; Sentinel promotes the replica and the killed node comes back
as the new replica. Later one web process is ``kill -9``ed; the balancer sends clients
to the other, and WebSocket clients that were on it reconnect with their cursor and
are replayed what they missed. Then the chaos run's checkers judge the outcome.

With ``wait`` (``WAIT 1`` before marking rows sent, the default under Sentinel) every
order completes with nothing lost or done twice. Without it, events the primary
acknowledged while its replica lagged die with it: ``acknowledged_lost`` counts outbox
rows marked sent whose event is on no stream of the new primary.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import MetaData, Table, create_engine, select
from sqlalchemy.pool import NullPool

from chaos import invariants
from chaos.evidence import Evidence, gather
from chaos.faults import FaultInjector
from chaos.load import Journal
from chaos.plan import ChaosConfig
from chaos.quiet import wait_for_quiet
from scale.load import BalancedLoad, PageWatchers
from tests.support.scale_stack import ScaleStack
from tests.system.shop_client import ShopClient
from workers.catalog.demo import DEMO_PRODUCTS
from workers.contracts import SERVICES
from workers.eventing.settings import Settings

log = logging.getLogger(__name__)

# How long the replica is cut off before the primary dies: below the sentinels'
# down-after time (1 s), so they still count it a healthy replica to promote.
LAG_S = 0.6


@dataclass
class FailoverReport:
    """What a failover run did and found."""

    wait: bool
    orders: int = 0
    accepted: int = 0
    lost_orders: int = 0
    duplicated_effects: Counter[str] = field(default_factory=Counter)
    published: int = 0  # outbox rows marked sent, across services
    acknowledged_lost: int = 0  # of those, events on no stream after the failover
    failover_s: float = 0.0  # kill -9 of the primary until the replica took writes
    reconnects: int = 0  # WebSocket clients that lost their web process and reconnected
    sockets_behind: list[str] = field(default_factory=list)
    checks: list[invariants.Check] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    fault_errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [f"{check.name}: {check.detail}" for check in self.checks if not check.ok]

    def lines(self) -> list[str]:
        checks = [f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}" for check in self.checks]
        return [
            f"WAIT {'on' if self.wait else 'off'}: {self.accepted}/{self.orders} orders accepted, "
            f"lost {self.lost_orders}, duplicated effects {sum(self.duplicated_effects.values())}",
            f"  events published {self.published}, acknowledged but lost in the failover {self.acknowledged_lost}",
            f"  failover (kill -9 of the primary until the replica took writes) {self.failover_s:.1f}s",
            f"  sockets that reconnected after the web kill {self.reconnects}, behind after it {self.sockets_behind}",
            *[f"  {line}" for line in self.timeline],
            *checks,
        ]


def run_failover(
    data_dir: Path,
    *,
    wait: bool = True,
    orders: int = 60,
    rate: float = 4.0,
    env: dict[str, str] | None = None,
    cold: bool = True,
) -> FailoverReport:
    """One run on a fresh scaled stack under ``data_dir``; ``env`` adds settings (database URLs).

    ``cold``: every process a new interpreter, as ``make scale`` starts them; the test of
    this run starts them as forks of a preloaded one (tests/support/launch.py).
    """
    report = FailoverReport(wait=wait, orders=orders)
    config = ChaosConfig(orders=orders, rate=rate, seed=11, shoppers=8, claim_idle_ms=3000)
    stack = ScaleStack(
        data_dir,
        env={
            "CLAIM_IDLE_MS": str(config.claim_idle_ms),
            "REDIS_WAIT_REPLICAS": "1" if wait else "0",
            "CHECKOUT_RATE_LIMIT": "0",
            "WS_MAX_PER_ADDRESS": "0",
            **(env or {}),
        },
        cold=cold,
    )
    injector: FaultInjector | None = None
    started = time.monotonic()

    def note(what: str) -> None:
        report.timeline.append(f"{time.monotonic() - started:6.1f}s {what}")
        log.info("failover run: %s", what)

    try:
        stack.start()
        injector = FaultInjector(stack, config.seed)  # it reads the primary's port: Redis must be up
        with ShopClient(stack.url) as shop:
            initial = shop.wait_for_catalog(len(DEMO_PRODUCTS), timeout=90.0)
        note("stack up (2 web, projector, 2 of every worker, Redis primary + replica + 3 sentinels, HAProxy)")
        watchers = PageWatchers(stack.url, stack.web_ports)
        watchers.start()
        journal = Journal()
        load_time = orders / rate

        def inject() -> None:
            try:
                _faults(stack, watchers, report, note, load_time)
            except Exception as exc:  # reported as a failed check; the run goes on
                report.fault_errors.append(repr(exc))
                log.exception("failover run: a fault failed")

        BalancedLoad(stack.url, config, initial, journal).run_beside(inject)
        note("load over")
        injector.heal()
        quiet: str | None = None
        with stack.redis.client() as client:
            try:
                wait_for_quiet(client, Settings.from_env(stack.env), timeout=180.0)
            except TimeoutError as exc:
                quiet = str(exc)
        note("quiet" if quiet is None else f"never quiet: {quiet}")
        evidence = gather(stack, journal, injector, initial)
        report.sockets_behind = watchers.stop_and_compare(evidence.read_model)
        report.reconnects = watchers.reconnects
        _judge(report, evidence, quiet, Settings.from_env(stack.env))
    finally:
        if injector is not None:
            injector.close()
        stack.stop()
    return report


def _faults(
    stack: ScaleStack, watchers: PageWatchers, report: FailoverReport, note: Callable[[str], None], load_time: float
) -> None:
    time.sleep(load_time * 0.3)
    replicated = stack.replicated
    old = replicated.primary_port()
    primary, replica = replicated.primary, replicated.replica
    # Cut the replica off: frozen, it cannot reconnect, and with its link closed the
    # primary's writes stop at the primary (freezing alone would leave them queued in
    # the replica's socket buffer, to be read once it wakes).
    replica.pause()
    with primary.client() as client:
        client.client_kill_filter(_type="replica")
    time.sleep(LAG_S)
    killed_at = time.monotonic()
    primary.kill()
    replica.resume()
    note(f"replica cut off for {LAG_S}s, then kill -9 of the Redis primary (port {old})")
    new = replicated.wait_promoted(old)
    report.failover_s = time.monotonic() - killed_at
    note(f"Sentinel promoted the replica (port {new}) after {report.failover_s:.1f}s")
    replicated.nodes[old].start()
    note("the killed node restarted; Sentinel makes it the new replica")
    watchers.wait_spread()
    time.sleep(load_time * 0.2)
    stack.signal("web", replica=0)
    note("kill -9 of web1; HAProxy sends its clients to web2")
    time.sleep(3.0)
    stack.start_process("web", 0)
    note("web1 started again")


def _judge(report: FailoverReport, evidence: Evidence, quiet: str | None, settings: Settings) -> None:
    result = invariants.outcome(evidence)
    report.accepted = len(evidence.journal.accepted)
    report.lost_orders = len(result.lost)
    report.duplicated_effects = result.duplicated_effects
    on_streams = {event.get("id") for events in evidence.events.values() for event in events}
    sent = _sent_event_ids(settings)
    report.published = len(sent)
    report.acknowledged_lost = len(sent - on_streams)
    report.checks = invariants.check_all(evidence, quiet)
    report.checks.append(
        invariants.Check(
            "the primary and web1 were killed as planned", not report.fault_errors, "; ".join(report.fault_errors)
        )
    )
    report.checks.append(
        invariants.Check(
            "every event marked sent is on its stream after the failover",
            report.acknowledged_lost == 0,
            f"{report.acknowledged_lost} of {report.published} lost",
        )
    )
    report.checks.append(
        invariants.Check(
            "open sockets caught up with the read model after the web kill",
            not report.sockets_behind,
            "; ".join(report.sockets_behind) or f"{report.reconnects} reconnected",
        )
    )


def _sent_event_ids(settings: Settings) -> set[str]:
    found: set[str] = set()
    for service in SERVICES:
        engine = create_engine(settings.database_url(service), poolclass=NullPool)
        try:
            outbox = Table("outbox", MetaData(), autoload_with=engine)
            with engine.connect() as conn:
                found.update(conn.scalars(select(outbox.c.event_id).where(outbox.c.sent_at.is_not(None))))
        finally:
            engine.dispose()
    return found


def main(argv: list[str] | None = None) -> int:
    """``python -m scale.failover [--no-wait] [--orders N]``: one run on fresh PostgreSQL databases."""
    import argparse
    import tempfile

    from chaos.databases import postgres_databases

    parser = argparse.ArgumentParser(prog="python -m scale.failover", description=__doc__)
    parser.add_argument("--no-wait", action="store_true", help="mark rows sent without WAIT (shows what is lost)")
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--rate", type=float, default=4.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="failover-") as scratch, postgres_databases() as databases:
        report = run_failover(Path(scratch), wait=not args.no_wait, orders=args.orders, rate=args.rate, env=databases)
    print("\n".join(report.lines()))
    # Without WAIT losing events is the expected finding, not a failure of the run.
    return 0 if args.no_wait or not report.failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
