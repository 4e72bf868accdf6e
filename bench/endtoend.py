"""End to end: the whole Procfile stack under checkouts, measured from outside as a shopper sees it.

The stack runs under honcho on free ports (``bench.honcho_stack``); the load comes from
a separate process (``bench.checkout_load``) on the same machine. After seeding (the
demo catalog, restocked through the clerk API so that every order can be filled) and a
short warm-up:

- **fixed rate** (b): ``BENCH_RATE`` checkouts a second for ``BENCH_RATE_S`` seconds, well
  below saturation; each order's ``/ws/orders/{id}?token=`` is opened right after its 202
  and the time from the POST to ``confirmed`` on that socket is noted, as is every socket
  that closed before its order was confirmed;
- **burst** (a, c): ``BENCH_ORDERS`` checkouts by ``BENCH_CLIENTS`` keep-alive clients as
  fast as they are answered. Orders/s confirmed runs from the first POST to the last
  confirmation, taken from each order's own history (``GET /api/orders/{id}``, after the
  burst). CPU per order is read from ``/proc`` for every process of the stack (honcho and
  Redis included) when the burst starts and once every group has caught up and every
  outbox is empty.

The baseline is the same generator against ``bench.baseline_http``, a bare uvicorn and
Starlette app that answers each checkout with 202 and confirms on the socket at once: the
HTTP ceiling of this machine and the floor of the latency path.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import redis

from bench import procstat
from bench.checkout_load import NO_ANSWER, fetch_orders
from bench.honcho_stack import ROOT, HonchoStack
from bench.report import met, percentile, table
from chaos.quiet import wait_for_quiet
from tests.support.ports import free_port
from tests.support.waiting import wait_until
from workers.eventing.settings import Settings

DEV_CLERK = ("clerk", "clerk-dev-password")
MAX_RESTOCK = 10_000
QUIET_TIMEOUT_S = 600.0
IDLE_S = 3.0

TARGET_CONFIRMED_PER_S = 300.0
TARGET_CPU_MS_PER_ORDER = 5.0
TARGET_P99_MS = 100.0


@dataclass(frozen=True)
class LoadSettings:
    """Sizes and durations; from the environment, so a smoke run can be small."""

    orders: int = 3_000
    clients: int = 64
    rate: float = 50.0
    rate_s: float = 20.0
    warmup: int = 50

    @classmethod
    def from_env(cls) -> LoadSettings:
        env = os.environ
        return cls(
            orders=int(env.get("BENCH_ORDERS", cls.orders)),
            clients=int(env.get("BENCH_CLIENTS", cls.clients)),
            rate=float(env.get("BENCH_RATE", cls.rate)),
            rate_s=float(env.get("BENCH_RATE_S", cls.rate_s)),
            warmup=int(env.get("BENCH_WARMUP", cls.warmup)),
        )


@dataclass(frozen=True)
class Burst:
    """A burst's figures. For the baseline, "confirmed" is the 202 itself."""

    sent: int
    accepted: int
    confirmed: int
    accept_per_s: float
    confirmed_per_s: float
    post_ms: list[float]
    confirm_ms: list[float]
    cpu_s: dict[str, float]  # process name -> CPU seconds over the burst
    generator_cpu_s: float
    errors: Counter[str] = field(default_factory=Counter)
    measured_s: float = 0.0  # from the burst's start to the CPU reading after it
    idle_cpu_per_s: float = 0.0  # what the idle stack uses a second (pollers, heartbeats)

    @property
    def cpu_total_s(self) -> float:
        return sum(self.cpu_s.values())

    def cpu_ms_per_order(self, name: str | None = None) -> float:
        used = self.cpu_total_s if name is None else self.cpu_s.get(name, 0.0)
        return used / max(self.confirmed, 1) * 1000

    @property
    def generator_share(self) -> float:
        return self.generator_cpu_s / (self.generator_cpu_s + self.cpu_total_s)


@dataclass(frozen=True)
class Rate:
    sent: int
    rate: float
    seconds: float
    post_ms: list[float]
    confirmed_ms: list[float]
    outcomes: Counter[str]
    generator_cpu_s: float

    @property
    def closed(self) -> int:
        """Sockets the server closed (any close frame) before their order was confirmed."""
        return sum(n for outcome, n in self.outcomes.items() if outcome.startswith("closed"))


@dataclass(frozen=True)
class EndToEndResult:
    settings: LoadSettings
    stack_burst: Burst
    bare_burst: Burst
    stack_rate: Rate
    bare_rate: Rate
    # The scaled layout's burst (``make scale``), or why it was not run.
    scaled_burst: Burst | None = None
    scaled_skipped: str | None = None


def run(workdir: Path, settings: LoadSettings | None = None) -> EndToEndResult:
    """The baseline first (a few seconds), then the stack."""
    settings = settings or LoadSettings.from_env()
    bare_burst, bare_rate = _run_baseline(settings)
    stack_burst, stack_rate = _run_stack(HonchoStack(workdir / "stack"), settings)
    assert stack_rate is not None
    scaled_burst, skipped = _run_scaled(workdir / "scaled", settings)
    return EndToEndResult(settings, stack_burst, bare_burst, stack_rate, bare_rate, scaled_burst, skipped)


def _run_scaled(data_dir: Path, settings: LoadSettings) -> tuple[Burst | None, str | None]:
    """The same burst through ``make scale``'s layout: two web processes behind HAProxy, two
    replicas of every worker, PostgreSQL per service, Redis with Sentinel (``BENCH_SCALED=0``: off)."""
    if os.environ.get("BENCH_SCALED", "1") == "0":
        return None, "BENCH_SCALED=0"
    from scale.bench import COMMAND, drop_databases, scaled_env  # PostgreSQL and HAProxy only from here
    from scale.databases import database_urls

    prefix = f"bench_{os.getpid()}"
    try:
        # The URLs in the stack's own environment: the quiet check reads the same databases.
        env = {**scaled_env(prefix), **database_urls(prefix)}
        burst, _rate = _run_stack(HonchoStack(data_dir, env=env, command=COMMAND), settings, with_rate=False)
    except Exception as exc:  # noqa: BLE001 - the single-process figures stand on their own
        return None, f"not run: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        with contextlib.suppress(Exception):  # no PostgreSQL: nothing was made, and the reason is above
            drop_databases(prefix)
    return burst, None


# --- the stack ---


def _run_stack(stack: HonchoStack, settings: LoadSettings, *, with_rate: bool = True) -> tuple[Burst, Rate | None]:
    stack.start()
    try:
        client = redis.Redis.from_url(stack.redis_url)
        env_settings = Settings.from_env(stack.env)
        wait_for_quiet(client, env_settings, quiet_s=1.0, timeout=QUIET_TIMEOUT_S)  # the demo catalog is in
        product_ids = _stock_up(stack, settings.warmup + settings.orders + math.ceil(settings.rate * settings.rate_s))
        if settings.warmup:
            _generate(
                "burst", {"port": stack.port, "orders": settings.warmup, "clients": 4, "product_ids": product_ids}
            )
            wait_for_quiet(client, env_settings, quiet_s=1.0, timeout=QUIET_TIMEOUT_S)
        rate = None
        if with_rate:
            rate = _rate(stack.port, settings, product_ids, first=settings.warmup)
            wait_for_quiet(client, env_settings, quiet_s=1.0, timeout=QUIET_TIMEOUT_S)

        names = stack.processes()
        idle_before = procstat.cpu_seconds(names)
        time.sleep(IDLE_S)
        idle = sum(procstat.cpu_between(idle_before, procstat.cpu_seconds(names)).values()) / IDLE_S
        before, started = procstat.cpu_seconds(names), time.monotonic()
        report = _generate(
            "burst",
            {"port": stack.port, "orders": settings.orders, "clients": settings.clients, "product_ids": product_ids},
        )
        wait_for_quiet(client, env_settings, quiet_s=1.0, timeout=QUIET_TIMEOUT_S)
        used, measured = procstat.cpu_between(before, procstat.cpu_seconds(names)), time.monotonic() - started
        client.close()
        # After the CPU reading: these requests are the observer's, not the load's.
        placed = [(row[3], row[4]) for row in report["orders"] if row[2] == 202]
        histories = asyncio.run(fetch_orders(stack.port, placed))
        burst = _burst_figures(report, names, used, histories)
        return dataclasses.replace(burst, measured_s=measured, idle_cpu_per_s=idle), rate
    except BaseException:
        print(f"end-to-end: the stack's log ends:\n{stack.log_tail()}", file=sys.stderr)
        raise
    finally:
        stack.stop()


def _stock_up(stack: HonchoStack, orders: int) -> list[int]:
    """Restock every listed product so that ``orders`` one-unit orders, spread evenly, can all be filled."""
    with httpx.Client(base_url=stack.url, timeout=30.0) as http:
        products = wait_until(
            lambda: http.get("/api/products").json()["products"], timeout=60, message="no demo catalog"
        )
        need = math.ceil(orders / len(products)) + 10
        username, password = DEV_CLERK
        token = http.post("/api/login", json={"username": username, "password": password}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        for product in products:
            missing = need - int(product["available"])
            while missing > 0:
                quantity = min(missing, MAX_RESTOCK)
                answer = http.post(
                    f"/api/warehouse/products/{product['id']}/restock", json={"quantity": quantity}, headers=auth
                )
                answer.raise_for_status()
                missing -= quantity

        ids = {int(product["id"]) for product in products}

        def stocked() -> bool:
            listed = http.get("/api/products").json()["products"]
            return all(int(p["available"]) >= need for p in listed if int(p["id"]) in ids)

        wait_until(stocked, timeout=60, message="restocks did not reach the storefront")
    return sorted(ids)


def _failed_posts(rows: list[list[Any]]) -> Counter[str]:
    """How the checkouts that got no 202 ended: ``HTTP 503`` and the like, or no answer at all."""
    return Counter(
        "no answer (connection failed)" if row[2] == NO_ANSWER else f"HTTP {row[2]}" for row in rows if row[2] != 202
    )


def _burst_figures(
    report: dict[str, Any], names: dict[int, str], used: dict[int, float], histories: list[dict[str, Any]]
) -> Burst:
    rows = report["orders"]
    accepted = [row for row in rows if row[2] == 202]
    errors = _failed_posts(rows)
    confirmed_at: list[tuple[float, float]] = []  # (sent, confirmed) per confirmed order
    for row, order in zip(accepted, histories, strict=True):
        at = next((entry["at"] for entry in order.get("history", []) if entry["status"] == "confirmed"), None)
        if at is None:
            errors[f"not confirmed ({order.get('status', order.get('error'))})"] += 1
        else:
            confirmed_at.append((row[0], datetime.fromisoformat(at).timestamp()))
    first_sent = min(row[0] for row in rows)
    last_answer = max(row[1] for row in rows)
    last_confirmed = max((c for _, c in confirmed_at), default=first_sent)
    cpu: dict[str, float] = {}
    for pid, seconds in used.items():
        cpu[names[pid]] = cpu.get(names[pid], 0.0) + seconds
    return Burst(
        sent=len(rows),
        accepted=len(accepted),
        confirmed=len(confirmed_at),
        accept_per_s=len(accepted) / (last_answer - first_sent),
        confirmed_per_s=len(confirmed_at) / max(last_confirmed - first_sent, 1e-9),
        post_ms=[(row[1] - row[0]) * 1000 for row in rows],
        confirm_ms=[(confirmed - sent) * 1000 for sent, confirmed in confirmed_at],
        cpu_s=cpu,
        generator_cpu_s=float(report["cpu_seconds"]),
        errors=errors,
    )


# --- the baseline ---


def _run_baseline(settings: LoadSettings) -> tuple[Burst, Rate]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.baseline_http", str(port)], cwd=ROOT, stdin=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: listening(port), timeout=30, message="the bare baseline app did not start")
        names = {server.pid: "bare app"}
        before = procstat.cpu_seconds(names)
        report = _generate(
            "burst", {"port": port, "orders": settings.orders, "clients": settings.clients, "product_ids": [1]}
        )
        used = procstat.cpu_between(before, procstat.cpu_seconds(names))
        rows = report["orders"]
        accepted = [row for row in rows if row[2] == 202]
        seconds = max(row[1] for row in rows) - min(row[0] for row in rows)
        burst = Burst(
            sent=len(rows),
            accepted=len(accepted),
            confirmed=len(accepted),
            accept_per_s=len(accepted) / seconds,
            confirmed_per_s=len(accepted) / seconds,
            post_ms=[(row[1] - row[0]) * 1000 for row in rows],
            confirm_ms=[(row[1] - row[0]) * 1000 for row in accepted],
            cpu_s={"bare app": used.get(server.pid, 0.0)},
            generator_cpu_s=float(report["cpu_seconds"]),
            errors=_failed_posts(rows),
        )
        rate = _rate(port, settings, [1], first=0)
        return burst, rate
    finally:
        procstat.stop(server, timeout_s=10)


def listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


# --- the generator ---


def _rate(port: int, settings: LoadSettings, product_ids: list[int], first: int) -> Rate:
    config = {"port": port, "rate": settings.rate, "seconds": settings.rate_s, "product_ids": product_ids}
    report = _generate("rate", {**config, "first": first})
    results = report["results"]
    return Rate(
        sent=len(results),
        rate=settings.rate,
        seconds=float(report["seconds"]),
        post_ms=[r["post_ms"] for r in results if "post_ms" in r],
        confirmed_ms=[r["confirmed_ms"] for r in results if "confirmed_ms" in r],
        outcomes=Counter(r["outcome"] for r in results),
        generator_cpu_s=float(report["cpu_seconds"]),
    )


def _generate(mode: str, config: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator process to the end and return its report."""
    finished = subprocess.run(
        [sys.executable, "-m", "bench.checkout_load", mode, json.dumps(config)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=QUIET_TIMEOUT_S,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"the load generator failed ({mode}):\n{finished.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


# --- the report ---


def _ms(values: list[float], pct: float) -> str:
    if not values:
        return "-"
    value = percentile(values, pct)
    return f"{value:.1f}" if value < 10 else f"{value:,.0f}"


def report(result: EndToEndResult) -> str:
    """The three figures beside the bare baseline, then the targets."""
    s, ours, bare = result.settings, result.stack_burst, result.bare_burst
    burst_rows = [
        [
            name,
            f"{b.accepted:,}/{b.sent:,}",
            f"{b.accept_per_s:,.0f}",
            f"{b.confirmed_per_s:,.0f}",
            _ms(b.post_ms, 50),
            _ms(b.post_ms, 99),
            _ms(b.confirm_ms, 50),
            _ms(b.confirm_ms, 99),
            f"{b.generator_share:.1%}",
        ]
        for name, b in (
            ("whole stack (honcho)", ours),
            *((("scaled: 2 web + HAProxy, 2x workers", result.scaled_burst),) if result.scaled_burst else ()),
            ("bare Starlette 202", bare),
        )
    ]
    cpu_rows = [
        [name, f"{seconds * 1000:,.0f}", f"{ours.cpu_ms_per_order(name):.2f}"]
        for name, seconds in sorted(ours.cpu_s.items(), key=lambda item: -item[1])
    ]
    cpu_rows.append(["total, every process", f"{ours.cpu_total_s * 1000:,.0f}", f"{ours.cpu_ms_per_order():.2f}"])
    idle_ms = ours.idle_cpu_per_s * ours.measured_s * 1000
    cpu_rows.append(
        [
            f"  of which idle stack ({ours.idle_cpu_per_s * 1000:.0f} ms/s over {ours.measured_s:.0f} s)",
            f"{idle_ms:,.0f}",
            f"{idle_ms / max(ours.confirmed, 1):.2f}",
        ]
    )
    cpu_rows.append(
        [
            "load generator (not in total)",
            f"{ours.generator_cpu_s * 1000:,.0f}",
            f"{ours.generator_cpu_s / max(ours.confirmed, 1) * 1000:.2f}",
        ]
    )
    cpu_rows.append(
        ["baseline: bare Starlette app", f"{bare.cpu_total_s * 1000:,.0f}", f"{bare.cpu_ms_per_order():.2f}"]
    )
    rate_rows = [
        [
            name,
            f"{r.sent:,}",
            _ms(r.post_ms, 50),
            _ms(r.post_ms, 99),
            _ms(r.confirmed_ms, 50),
            _ms(r.confirmed_ms, 99),
            f"{len(r.confirmed_ms):,}",
            f"{r.closed:,}",
            f"{r.sent - len(r.confirmed_ms) - r.closed:,}",
        ]
        for name, r in (("whole stack (honcho)", result.stack_rate), ("bare Starlette 202", result.bare_rate))
    ]
    rate = result.stack_rate
    p99 = percentile(rate.confirmed_ms, 99)
    targets = [
        [
            "orders/s confirmed (burst)",
            f"{ours.confirmed_per_s:,.0f}",
            f">= {TARGET_CONFIRMED_PER_S:.0f}",
            met(ours.confirmed_per_s >= TARGET_CONFIRMED_PER_S),
        ],
        [
            "CPU ms per order, all processes",
            f"{ours.cpu_ms_per_order():.2f}",
            f"<= {TARGET_CPU_MS_PER_ORDER:.0f}",
            met(ours.cpu_ms_per_order() <= TARGET_CPU_MS_PER_ORDER),
        ],
        [
            f"p99 POST -> confirmed at {rate.rate:.0f}/s (ms)",
            f"{p99:,.0f}",
            f"<= {TARGET_P99_MS:.0f}",
            met(p99 <= TARGET_P99_MS),
        ],
        ["sockets closed before confirmed", f"{rate.closed}", "0", met(rate.closed == 0)],
    ]
    problems = {**ours.errors, **{k: v for k, v in rate.outcomes.items() if k != "confirmed"}}
    lines = [
        f"End to end: the Procfile stack under honcho, load from a separate process ({os.cpu_count()} CPUs).",
        "Baseline: the same generator against a bare uvicorn/Starlette app that answers 202 at once",
        "(and confirms on the socket at once): this machine's HTTP ceiling and latency floor.",
        "",
        f"(a) burst: {s.orders:,} checkouts by {s.clients} keep-alive clients; confirmation times from each",
        "order's history; 'gen CPU' is the generator's share of all CPU used during the burst.",
        table(
            ["server", "202", "POST/s", "confirmed/s", "POST p50", "POST p99", "conf p50", "conf p99", "gen CPU"],
            burst_rows,
        ),
        *(
            [f"scaled layout (PostgreSQL per service, Redis with Sentinel and WAIT): {result.scaled_skipped}"]
            if result.scaled_skipped
            else []
        ),
        "",
        "(c) CPU over the burst, from /proc (utime+stime), until every group caught up and every outbox emptied:",
        table(["process", "CPU ms", "ms/order"], cpu_rows),
        "",
        f"(b) fixed rate: {rate.rate:.0f} checkouts/s for {s.rate_s:.0f} s; POST -> 'confirmed' on /ws/orders/{{id}},",
        "the socket opened right after the 202 (ms):",
        table(
            ["server", "orders", "POST p50", "POST p99", "conf p50", "conf p99", "confirmed", "closed", "other"],
            rate_rows,
        ),
        "",
        table(["measure", "value", "target", "met"], targets),
    ]
    if problems:
        lines += ["", "not confirmed: " + ", ".join(f"{n} {what}" for what, n in sorted(problems.items()))]
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    lines += ["", f"(load average after the run: {load}; other work on the machine skews these)"]
    return "\n".join(lines)
