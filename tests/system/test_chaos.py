"""A short chaos run (about 60 orders, every fault kind at least once) keeps every invariant.

The same code as ``make chaos``, in-process and smaller; it does not write docs/reliability.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.plan import ChaosConfig
from chaos.report import render_text
from chaos.run import run_chaos

pytestmark = pytest.mark.stack

FAULT_KINDS = ("kill -9 ", "kill -9 redis-server", "SIGSTOP ", "re-XADD copies", "poison entries")


def test_a_short_chaos_run_keeps_every_invariant(tmp_path: Path) -> None:
    config = ChaosConfig.short(seed=5)

    report = run_chaos(config, tmp_path / "chaos", cold=False)

    table = render_text(report)
    for kind in FAULT_KINDS:
        assert any(label.startswith(kind) and n for label, n in report.faults.items()), f"no {kind!r} fault\n{table}"
    killed = {label.removeprefix("kill -9 ").split(" ")[0] for label in report.faults if label.startswith("kill -9 ")}
    assert {"web", "projector", "catalog", "orders", "payments", "warehouse", "shipping", "email"} <= killed, table
    assert report.orders["accepted (202)"] == config.orders, table
    assert report.lost == 0 and report.unexpected == 0 and not report.duplicated_effects, table
    assert [check.name for check in report.checks if not check.ok] == [], table
