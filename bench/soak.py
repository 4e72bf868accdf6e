"""``make soak``: a steady load through the whole stack, to see that storage levels off.

For ``SOAK_S`` seconds (default 1800) shoppers check out ``SOAK_RATE`` orders a second
(default 20) and a clerk, logged in through ``POST /api/login``, dispatches every
confirmed order and restocks what runs low. Every ``SOAK_SAMPLE_S`` (30) it samples
Redis ``used_memory``, the streams' lengths, each database's file and WAL size (business
rows counted apart: orders, payments, stock, shipments, emails sent are kept on
purpose), inbox and outbox rows, each process's RSS, and the p99 from checkout to
``order.confirmed`` over the interval. It prints the table, then the growth per hour
after the warm-up (the longest retention window and a minute), against the targets.

The retention windows are short unless the environment sets them, so the levelling-off
shows within minutes; the stack is ``tests/support/stack.py``'s, on free ports.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import redis

from tests.support.stack import Stack
from tests.system.shop_client import DEV_CLERK, order_body
from workers.contracts import REGISTRY, SERVICES
from workers.eventing.dead_letters import DLQ_STREAM
from workers.eventing.tables import backbone_tables

log = logging.getLogger(__name__)

STREAMS = (*REGISTRY.streams, DLQ_STREAM)
# Short windows: the first retention window passes within minutes (INBOX_KEEP_S is the longest).
SHORT_WINDOWS = {
    "STREAM_KEEP_S": "60",
    "DLQ_REDRIVE_S": "60",
    "INBOX_KEEP_S": "180",
    "OUTBOX_KEEP_S": "60",
    "OUTBOX_KEEP_ROWS": "2000",
    "READ_MODEL_KEEP_S": "120",
    "RETENTION_INTERVAL_S": "5",
}
MiB = 1024 * 1024


@dataclass
class Sample:
    at_s: float
    orders: int
    redis_bytes: int
    stream_entries: dict[str, int]
    db_bytes: int  # files and WALs, business rows excluded
    business_bytes: int
    wal_bytes: int
    inbox_rows: int
    outbox_rows: int
    rss: dict[str, int]
    p99_s: float | None
    backlog: dict[str, int] = field(default_factory=dict)  # per group: entries delivered-not-acked or not read

    @property
    def behind(self) -> tuple[str, int]:
        """The group furthest behind, and by how many entries (what holds trimming back)."""
        return max(self.backlog.items(), key=lambda item: item[1], default=("-", 0))


@dataclass
class Load:
    """What the shoppers and the clerk did, written by their threads."""

    submitted: dict[str, float] = field(default_factory=dict)
    confirmed: list[tuple[float, float]] = field(default_factory=list)  # (when, checkout -> confirmed)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def latencies_since(self, since: float) -> list[float]:
        with self.lock:
            return [latency for at, latency in self.confirmed if at >= since]


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    duration = float(os.environ.get("SOAK_S", "1800"))
    rate = float(os.environ.get("SOAK_RATE", "20"))
    every = float(os.environ.get("SOAK_SAMPLE_S", "30"))
    windows = {name: os.environ.get(name, value) for name, value in SHORT_WINDOWS.items()}
    warm_up = max(float(v) for k, v in windows.items() if k.endswith("_KEEP_S")) + 60
    env = {
        "CHECKOUT_RATE_LIMIT": "0",
        "WS_MAX_PER_ADDRESS": "0",
        "SHIP_DELAY_S": "1",
        "DELIVER_DELAY_S": "2",
        **windows,
    }
    print(f"soak: {duration:.0f} s at {rate:g} orders/s, sampled every {every:.0f} s; windows {windows}", flush=True)
    load = Load()
    with tempfile.TemporaryDirectory(prefix="soak-") as workdir, running(Path(workdir), env) as stack:
        samples = soak(stack, load, duration, rate, every)
    print(table(samples))
    print()
    print(streams_table(samples))
    print()
    print(rss_table(samples))
    print()
    print(growth(samples, warm_up))
    print(f"  checkouts accepted: {len(load.submitted)}, confirmed seen: {len(load.confirmed)}, errors: {load.errors}")
    return 0


@contextmanager
def running(data_dir: Path, env: dict[str, str]) -> Iterator[Stack]:
    stack = Stack(data_dir, env)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def soak(stack: Stack, load: Load, duration: float, rate: float, every: float) -> list[Sample]:
    stop = threading.Event()
    client = redis.Redis(port=stack.redis.port)
    products = _products(stack)
    threads = [
        threading.Thread(target=_watch_confirmations, args=(client, load, stop), daemon=True),
        threading.Thread(target=_shoppers, args=(stack.url, products, rate, load, stop), daemon=True),
        threading.Thread(target=_clerk, args=(stack.url, products, load, stop), daemon=True),
    ]
    for thread in threads:
        thread.start()
    start = time.monotonic()
    samples: list[Sample] = []
    try:
        while (elapsed := time.monotonic() - start) < duration:
            time.sleep(min(every, max(duration - elapsed, 0)))
            since = time.time() - every
            samples.append(sample(stack, client, load, time.monotonic() - start, since))
            print(row(samples[-1]), flush=True)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    return samples


def sample(stack: Stack, client: redis.Redis, load: Load, at_s: float, since: float) -> Sample:
    info = client.info("memory")
    lengths = {s: int(client.xlen(s)) for s in STREAMS}
    db_bytes = business = wal = inbox = outbox = 0
    for service in SERVICES:
        sizes = _database(stack.data_dir / "db" / f"{service}.sqlite3", service)
        db_bytes += sizes["file"] - sizes["business"]
        business += sizes["business"]
        wal += sizes["wal"]
        inbox += sizes["inbox"]
        outbox += sizes["outbox"]
    rss = {name: _rss(p.pid) for name, replicas in stack.processes.items() for p in replicas}
    latencies = sorted(load.latencies_since(since))
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None
    with load.lock:
        orders = len(load.submitted)
    return Sample(
        at_s,
        orders,
        int(info["used_memory"]),
        lengths,
        db_bytes + wal,
        business,
        wal,
        inbox,
        outbox,
        rss,
        p99,
        _backlogs(client),
    )


def _backlogs(client: redis.Redis) -> dict[str, int]:
    backlog: dict[str, int] = {}
    for stream in STREAMS:
        if not client.exists(stream):
            continue
        for group in client.xinfo_groups(stream):
            name = group["name"].decode()
            backlog[name] = backlog.get(name, 0) + int(group["pending"]) + int(group.get("lag") or 0)
    return backlog


def _database(path: Path, service: str) -> dict[str, int]:
    """File, WAL and business-row bytes of one service's SQLite file, and its inbox and outbox rows."""
    wal = path.with_name(path.name + "-wal")
    sizes = {"file": _size(path), "wal": _size(wal), "business": 0, "inbox": 0, "outbox": 0}
    if not path.exists():
        return sizes
    business = _business_tables(service)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        owners = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
        for name, size in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            if owners.get(name, name) in business:
                sizes["business"] += int(size)
        sizes["inbox"] = int(conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])
        sizes["outbox"] = int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        conn.close()
    return sizes


def _business_tables(service: str) -> set[str]:
    """A service's own tables but the backbone's; the gateway's are all bounded (read model, sessions)."""
    if service == "gateway":
        return set()
    metadata = importlib.import_module(f"workers.{service}.tables").METADATA
    tables = backbone_tables(metadata)
    backbone = {tables.outbox.name, tables.inbox.name, tables.lease.name}
    return {name for name in metadata.tables if name not in backbone}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


def _products(stack: Stack) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = httpx.get(f"{stack.url}/api/products", timeout=5).json()["products"]
        if listed:
            return [p["id"] for p in listed]
        time.sleep(0.5)
    raise RuntimeError("the demo catalog never appeared")


def _shoppers(url: str, products: list[int], rate: float, load: Load, stop: threading.Event) -> None:
    """Checkouts at a steady rate, each of one unit of a product, in a pool so a slow answer holds up none."""
    http = httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_connections=32))

    def checkout(n: int) -> None:
        body = order_body(((products[n % len(products)], 1),))
        try:
            sent = time.time()
            response = http.post("/api/orders", json=body)
            if response.status_code == 202:
                with load.lock:
                    load.submitted[response.json()["order_id"]] = sent
                return
        except httpx.HTTPError:
            pass
        with load.lock:
            load.errors += 1

    with ThreadPoolExecutor(max_workers=16) as pool:
        n, next_at = 0, time.monotonic()
        while not stop.is_set():
            pool.submit(checkout, n)
            n += 1
            next_at += 1 / rate
            stop.wait(max(next_at - time.monotonic(), 0))
    http.close()


def _clerk(url: str, products: list[int], load: Load, stop: threading.Event) -> None:
    """Dispatch every confirmed order; restock a product before it runs out."""
    http = httpx.Client(base_url=url, timeout=30)
    token = http.post("/api/login", json={"username": DEV_CLERK[0], "password": DEV_CLERK[1]}).json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    asked: dict[str, float] = {}
    next_restock = 0.0
    while not stop.wait(0.5):
        try:
            if time.monotonic() >= next_restock:
                next_restock = time.monotonic() + 5
                for product in http.get("/api/products").json()["products"]:
                    if product["available"] < 500:
                        http.post(f"/api/warehouse/products/{product['id']}/restock", json={"quantity": 2000})
            now = time.monotonic()
            asked = {order_id: at for order_id, at in asked.items() if now - at < 60}
            for order in http.get("/api/warehouse/orders", params={"status": "confirmed"}).json()["orders"]:
                if order["order_id"] not in asked and not order.get("dispatch_requested"):
                    http.post(f"/api/warehouse/orders/{order['order_id']}/dispatch")
                    asked[order["order_id"]] = now
        except httpx.HTTPError:
            with load.lock:
                load.errors += 1
    http.close()


def _watch_confirmations(client: redis.Redis, load: Load, stop: threading.Event) -> None:
    """Checkout -> ``order.confirmed`` on the orders stream, as seen by a plain XREAD."""
    last = "$"
    while not stop.is_set():
        try:
            reply = cast(list[Any], client.xread({"orders": last}, block=1000, count=500) or [])
        except redis.RedisError:
            time.sleep(0.5)
            continue
        now = time.time()
        for _, entries in reply:
            for entry_id, fields in entries:
                last = entry_id.decode()
                if fields.get(b"type") != b"order.confirmed":
                    continue
                order_id = json.loads(fields[b"event"])["data"]["order_id"]
                with load.lock:
                    sent = load.submitted.get(order_id)
                    if sent is not None:
                        load.confirmed.append((now, now - sent))


HEADER = (
    f"{'t s':>5} {'orders':>7} {'redis MiB':>9} {'entries':>8} {'db MiB':>7} {'biz MiB':>8} "
    f"{'wal MiB':>7} {'inbox':>7} {'outbox':>7} {'RSS MiB':>8} {'p99 s':>6}  furthest behind"
)


def row(s: Sample) -> str:
    p99 = f"{s.p99_s:6.2f}" if s.p99_s is not None else f"{'-':>6}"
    return (
        f"{s.at_s:5.0f} {s.orders:7d} {s.redis_bytes / MiB:9.1f} {sum(s.stream_entries.values()):8d} "
        f"{s.db_bytes / MiB:7.1f} {s.business_bytes / MiB:8.1f} {s.wal_bytes / MiB:7.1f} {s.inbox_rows:7d} "
        f"{s.outbox_rows:7d} {sum(s.rss.values()) / MiB:8.1f} {p99}  {s.behind[0]} {s.behind[1]}"
    )


def table(samples: list[Sample]) -> str:
    return "\n".join([HEADER, *(row(s) for s in samples)])


def streams_table(samples: list[Sample]) -> str:
    lines = [f"{'t s':>5} " + " ".join(f"{n:>10}" for n in STREAMS) + "   (entries per stream)"]
    lines += [f"{s.at_s:5.0f} " + " ".join(f"{s.stream_entries[n]:10d}" for n in STREAMS) for s in samples]
    return "\n".join(lines)


def rss_table(samples: list[Sample]) -> str:
    names = sorted(samples[0].rss) if samples else []
    lines = [f"{'t s':>5} " + " ".join(f"{n:>9}" for n in names) + "   (RSS MiB per process)"]
    lines += [f"{s.at_s:5.0f} " + " ".join(f"{s.rss.get(n, 0) / MiB:9.1f}" for n in names) for s in samples]
    return "\n".join(lines)


def growth(samples: list[Sample], warm_up: float) -> str:
    after = [s for s in samples if s.at_s >= warm_up]
    if len(after) < 2:
        return f"growth: fewer than two samples after the {warm_up:.0f} s warm-up; run longer (SOAK_S)"
    first, last = after[0], after[-1]
    hours = (last.at_s - first.at_s) / 3600
    lines = [f"after the {warm_up:.0f} s warm-up ({first.at_s:.0f} s to {last.at_s:.0f} s):"]
    measures: list[tuple[str, Callable[[Sample], int], float | None]] = [
        ("Redis used_memory", lambda s: s.redis_bytes, 0.10),
        ("databases, business rows excluded", lambda s: s.db_bytes, 0.10),
        ("RSS, all processes", lambda s: sum(s.rss.values()), 0.10),
        ("business rows (kept on purpose)", lambda s: s.business_bytes, None),
    ]
    for name, value, limit in measures:
        start, end = value(first), value(last)
        change = (end - start) / start if start else 0.0
        verdict = "" if limit is None else ("  ok" if abs(change) <= limit else f"  OVER {limit:.0%}")
        lines.append(
            f"  {name:<36} {start / MiB:8.1f} -> {end / MiB:8.1f} MiB  {change:+6.1%}  "
            f"{(end - start) / MiB / hours:+9.1f} MiB/h{verdict}"
        )
    p99s = [s.p99_s for s in after if s.p99_s is not None]
    if len(p99s) >= 2:
        change = (p99s[-1] - p99s[0]) / p99s[0]
        verdict = "ok" if change <= 0.20 else "OVER 20%"
        lines.append(
            f"  {'p99 checkout -> confirmed':<36} {p99s[0]:8.2f} -> {p99s[-1]:8.2f} s    {change:+6.1%}  {verdict}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
