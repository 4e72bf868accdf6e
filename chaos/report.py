"""The chaos run's table: faults injected, orders and their final states, invariants; as text and Markdown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from chaos.invariants import Check
from chaos.plan import ChaosConfig


@dataclass
class Report:
    config: ChaosConfig
    started_at: datetime
    faults: Counter[str] = field(default_factory=Counter)
    orders: dict[str, int] = field(default_factory=dict)  # submitted, accepted, ...
    final_states: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    unexpected: int = 0
    duplicated_effects: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)  # "2xx", "4xx", "5xx", "no answer"
    notes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    data_dir: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def sections(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """(title, headers, rows) of every table, in order."""
        c = self.config
        parameters = [
            ["orders", str(c.orders)],
            ["rate (checkouts/s)", f"{c.rate:g}"],
            ["seed", str(c.seed)],
            ["kills per process", str(c.kills_per_process)],
            ["replicas", f"{c.replicas} x {c.replicated}"],
            ["CLAIM_IDLE_MS", str(c.claim_idle_ms)],
            ["databases", "PostgreSQL" if _on_postgres(c) else "SQLite"],
        ]
        faults = [[kind, str(n)] for kind, n in sorted(self.faults.items())]
        orders = [[name, str(n)] for name, n in self.orders.items()]
        states = [[state, str(n)] for state, n in sorted(self.final_states.items())]
        outcome = [
            ["lost", str(self.lost)],
            ["unexpected", str(self.unexpected)],
            ["duplicated effects", str(sum(self.duplicated_effects.values()))],
            *[[f"  {kind}", str(n)] for kind, n in sorted(self.duplicated_effects.items())],
        ]
        answers = [[kind, str(n)] for kind, n in sorted(self.answers.items())]
        checks = [[check.name, "PASS" if check.ok else "FAIL", check.detail] for check in self.checks]
        timings = [[phase, f"{seconds:.1f} s"] for phase, seconds in self.timings.items()]
        return [
            ("Parameters", ["parameter", "value"], parameters),
            ("Faults injected", ["fault", "count"], faults),
            ("Orders", ["orders", "count"], orders),
            ("Final states", ["state", "orders"], states),
            ("Outcome", ["", "count"], outcome),
            ("HTTP answers seen by clients", ["answer", "count"], answers),
            ("Invariants", ["invariant", "result", "detail"], checks),
            ("Timings", ["phase", "time"], timings),
        ]


def render_text(report: Report) -> str:
    """The report as plain-text tables, for the terminal."""
    verdict = "PASSED" if report.ok else "FAILED"
    lines = [f"Chaos run {report.started_at:%Y-%m-%d %H:%M:%S %Z}: {verdict}", ""]
    for title, headers, rows in report.sections():
        lines += [title, _table(headers, rows), ""]
    lines += [f"- {note}" for note in report.notes]
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(report: Report) -> str:
    """The report as ``docs/reliability.md``."""
    c = report.config
    verdict = "**passed**" if report.ok else "**FAILED**"
    lines = [
        "# Reliability: the latest chaos run",
        "",
        "Written by `make chaos` (`python -m chaos`), which overwrites this file with its latest run.",
        "The run drives checkouts (mixed payment methods, some for nearly sold-out products), restocks",
        "and dispatches through the HTTP contract of the whole Procfile stack, while it `kill -9`s every",
        "worker, the projector and the web process, `kill -9`s `redis-server` (AOF `appendfsync always`), freezes a",
        "worker replica with SIGSTOP for longer than `CLAIM_IDLE_MS`, re-adds copies of events already",
        "on the streams and adds malformed entries on purpose. Then it heals everything, waits until",
        "every group has caught up, every outbox is empty and every recorded email is sent, and checks",
        "the invariants below against the services' own databases.",
        "",
        "Emails are recorded in the email consumer's transaction and sent after the commit, then marked",
        "sent. A kill between sending and marking sends that email again, with the same `Message-ID`",
        "(`<order_id>.<status>@storefront.local`): the `.eml` file is rewritten, an SMTP server receives",
        "a copy it can recognise. No email is lost and none is sent for a status an order never reached.",
        "",
        f"Run of {report.started_at:%Y-%m-%d %H:%M %Z}, seed {c.seed}, {c.orders} orders at {c.rate:g}/s: {verdict}.",
        f"Replay it with `python -m chaos --orders {c.orders} --rate {c.rate:g} --seed {c.seed}"
        f"{' --postgres' if _on_postgres(c) else ''}`.",
        "",
    ]
    for title, headers, rows in report.sections():
        lines += [f"## {title}", "", _markdown_table(headers, rows), ""]
    if report.notes:
        lines += ["## Notes", "", *[f"- {note}" for note in report.notes], ""]
    return "\n".join(lines)


def _on_postgres(config: ChaosConfig) -> bool:
    return any(name.endswith("_DATABASE_URL") for name, _url in config.env)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    widths[-1] = min(widths[-1], 100)
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *(line(row) for row in rows)])
