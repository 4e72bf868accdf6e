"""Live push: from a stock change on the stream to the last of N sockets receiving it.

The gateway's web process (``python -m app``) and, as the baseline, a bare Starlette
broadcast (``bench.baseline_ws``) each serve N sockets opened by a separate client
process (``bench.live_clients``); the same stock changes are added to the same
Redis. Also reported: the web process's memory per socket (RSS growth / N).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import procstat
from bench.report import met, percentile, table
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer

SIZES = (1_000, 5_000)
EVENTS_PER_SIZE = 40
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class LiveFigure:
    server: str
    sockets: int
    p50_ms: float
    p99_ms: float
    kib_per_socket: float


def run(workdir: Path, sizes: tuple[int, ...] = SIZES) -> list[LiveFigure]:
    _raise_fd_limit()
    figures: list[LiveFigure] = []
    with RedisServer(workdir / "redis-live") as redis_server:
        for server in ("gateway", "baseline"):
            for size in sizes:
                figures.append(_measure(server, size, redis_server.url, workdir / f"{server}-{size}"))
    return figures


P99_TARGETS_MS = {1_000: 30.0, 5_000: 100.0}
KIB_PER_SOCKET_TARGET = 35.0


def report(figures: list[LiveFigure]) -> str:
    """Gateway beside the bare baseline, per socket count, and the targets."""
    by_key = {(f.server, f.sockets): f for f in figures}
    rows = []
    for size in sorted({f.sockets for f in figures}):
        ours, base = by_key[("gateway", size)], by_key[("baseline", size)]
        rows.append(
            [
                f"{size:,}",
                f"{ours.p50_ms:.1f}",
                f"{ours.p99_ms:.1f}",
                f"{base.p50_ms:.1f}",
                f"{base.p99_ms:.1f}",
                f"{ours.p99_ms / base.p99_ms:.2f}",
                f"{ours.kib_per_socket:.1f}",
                f"{base.kib_per_socket:.1f}",
            ]
        )
    targets = [
        [
            f"p99 at {size:,} sockets (ms)",
            f"{by_key[('gateway', size)].p99_ms:.1f}",
            f"{limit:.0f}",
            met(by_key[("gateway", size)].p99_ms <= limit),
        ]
        for size, limit in P99_TARGETS_MS.items()
        if ("gateway", size) in by_key
    ]
    worst = max(f.kib_per_socket for f in figures if f.server == "gateway")
    targets.append(
        [
            "memory per socket (KiB)",
            f"{worst:.1f}",
            f"{KIB_PER_SOCKET_TARGET:.0f}",
            met(worst <= KIB_PER_SOCKET_TARGET),
        ]
    )
    return "\n".join(
        [
            "Live push: a stock change added to the stream -> the last of N sockets has it",
            f"({EVENTS_PER_SIZE} changes per N; clients in a separate process).",
            "Baseline: a bare Starlette WebSocket broadcast of the same messages to the same sockets.",
            "",
            table(
                ["sockets", "p50 ms", "p99 ms", "bare p50", "bare p99", "p99 ratio", "KiB/socket", "bare KiB"],
                rows,
            ),
            "",
            table(["measure", "value", "target", "met"], targets),
        ]
    )


def _measure(server: str, size: int, redis_url: str, data_dir: Path) -> LiveFigure:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "REDIS_URL": redis_url,
        "DATA_DIR": str(data_dir),
        # Every socket comes from one address: the per-address and connection limits would refuse them.
        "WS_MAX_PER_ADDRESS": "0",
        "WEB_MAX_CONNECTIONS": "0",
    }
    if server == "gateway":
        argv = [sys.executable, "-m", "app"]
    else:
        argv = [sys.executable, "-m", "bench.baseline_ws", str(port), redis_url]
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        argv, cwd=ROOT, env={**env, "LOG_LEVEL": "warning"}, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_listening(port, server)
        before = _rss_kib(process.pid)
        clients = subprocess.Popen(
            [sys.executable, "-m", "bench.live_clients", str(port), str(size), str(EVENTS_PER_SIZE), redis_url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert clients.stdin is not None and clients.stdout is not None
        assert clients.stdout.readline().strip() == "connected", "client process failed to connect"
        time.sleep(1.0)
        after = _rss_kib(process.pid)
        clients.stdin.write("go\n")
        clients.stdin.flush()
        result = json.loads(clients.stdout.readline())
        clients.wait(timeout=60)
    finally:
        for child in (locals().get("clients"), process):
            if child is not None:
                procstat.stop(child, timeout_s=20)
        log.close()
    latencies = sorted(result["latencies_ms"])
    return LiveFigure(
        server=server,
        sockets=size,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        kib_per_socket=(after - before) / size,
    )


def _wait_listening(port: int, server: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{server} did not start listening on {port}")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
