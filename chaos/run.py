"""A whole chaos run: start the stack, load it while injecting faults, heal, wait for quiet, check."""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from chaos import invariants
from chaos.evidence import Evidence, gather
from chaos.faults import FaultInjector
from chaos.load import Journal, LoadDriver
from chaos.plan import ChaosConfig, schedule
from chaos.quiet import wait_for_quiet
from chaos.report import Report
from tests.support.stack import Stack
from tests.system.shop_client import ShopClient
from workers.catalog.demo import DEMO_PRODUCTS
from workers.eventing.settings import Settings

log = logging.getLogger(__name__)


def run_chaos(config: ChaosConfig, data_dir: Path, *, cold: bool = True) -> Report:
    """Run the chaos described by ``config`` on a fresh stack under ``data_dir`` and check it.

    ``cold``: every process a new interpreter, as the Procfile starts it (``make chaos``);
    the test of this run starts them as forks of a preloaded one (tests/support/launch.py).
    """
    report = Report(config=config, started_at=datetime.now(UTC), data_dir=str(data_dir))
    clock = time.monotonic()
    # A killed email sender's claims run out as fast as a killed consumer's pending entries are claimed.
    claims = {"CLAIM_IDLE_MS": str(config.claim_idle_ms), "EMAIL_CLAIM_TTL_S": str(config.claim_idle_ms / 1000)}
    stack = Stack(data_dir, env={**claims, **dict(config.env)}, cold=cold)
    injector = FaultInjector(stack, config.seed)
    try:
        stack.start(*[name for name in stack.commands if name != "redis"])
        for _ in range(config.replicas - 1):
            stack.start_process(config.replicated)
        with ShopClient(stack.url) as shop:
            initial = shop.wait_for_catalog(len(DEMO_PRODUCTS), timeout=60.0)
        clock = _lap(report, "start the stack", clock)

        journal = Journal()
        processes = [(name, index) for name, replicas in stack.processes.items() for index in range(len(replicas))]
        faults = schedule(config, processes)
        started = time.monotonic()
        LoadDriver(stack.url, config, initial, journal).run_beside(lambda: injector.run(faults, started))
        clock = _lap(report, "load with faults", clock)

        injector.heal()
        quiet: str | None = None
        with stack.redis.client() as client:
            try:
                wait_for_quiet(client, Settings.from_env(stack.env), timeout=config.quiet_timeout_s)
            except TimeoutError as exc:
                quiet = str(exc)
        clock = _lap(report, "heal and wait for quiet", clock)

        evidence = gather(stack, journal, injector, initial)
        report.checks = invariants.check_all(evidence, quiet)
        _summarise(report, evidence, injector, faults_planned=len(faults))
        _lap(report, "check", clock)
    finally:
        injector.close()
        stack.stop()
    report.timings["total"] = sum(report.timings.values())
    return report


def _summarise(report: Report, evidence: Evidence, injector: FaultInjector, faults_planned: int) -> None:
    journal = evidence.journal
    outcome = invariants.outcome(evidence)
    report.faults = Counter(injector.done)
    report.faults["duplicate entries re-added (copies)"] = injector.duplicated_entries
    report.orders = {
        "submitted": report.config.orders,
        "accepted (202)": len(journal.accepted),
        "accepted after retrying (no answer first)": sum(1 for a in journal.accepted if a.attempts > 1),
        "rejected": len(journal.rejected_checkouts),
        "never answered": len(journal.unanswered_checkouts),
        "dispatched by the clerk (202)": len(journal.dispatched),
        "restocks (202)": len(journal.restocks),
    }
    report.final_states = outcome.final_states
    report.lost, report.unexpected = len(outcome.lost), len(outcome.unexpected)
    report.duplicated_effects = outcome.duplicated_effects
    for answer in journal.answers:
        report.answers["no answer (web down)" if answer.status is None else f"{answer.status // 100}xx"] += 1
    rewritten = sum(n - 1 for n in evidence.email_writes.values() if n > 1)
    report.notes += [
        f"{faults_planned} faults scheduled; {sum(injector.done.values())} carried out.",
        f"{evidence.claims} pending entries were taken over from stopped or killed consumers (XAUTOCLAIM).",
        f"{rewritten} emails were written again, to the same file with the same Message-ID "
        "(the email worker was killed between writing them and marking them sent).",
        f"{journal.uncertain_restocks} restocks got no answer (web killed); the checker counts the ones the "
        "gateway recorded.",
    ]


def _lap(report: Report, phase: str, since: float) -> float:
    now = time.monotonic()
    report.timings[phase] = now - since
    log.info("chaos: %s took %.1fs", phase, now - since)
    return now
