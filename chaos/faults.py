"""The fault injector: carries out a schedule of faults against a running stack, then heals it.

Each fault runs in a thread of its own at its moment; faults on the same process (or
on Redis) take turns, so a frozen process is not also killed and a process is up
again before its next kill. Duplicates are copies of entries already on the streams
(same fields, so the same event ids); poison entries are malformed on purpose and
are the only thing the dead-letter stream may hold at the end.
"""

from __future__ import annotations

import json
import logging
import random
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import redis

from chaos.plan import FREEZE_WAIT_S, Fault
from tests.support.stack import Stack
from tests.system.observe import Entry, entries, streams
from workers.contracts import REGISTRY
from workers.eventing.dead_letters import DLQ_STREAM
from workers.eventing.redis_client import BLOCK_MS, as_text

log = logging.getLogger(__name__)

T = TypeVar("T")
REDIS_RETRY_S = 30.0
# An extra field on poison entries (readers look only at ``type`` and ``event``), so no copy is ever made of one.
POISON_MARK = b"chaos-poison"

# (type, event bytes or None for no ``event`` field), put on the type's stream: each is
# dead-lettered by every group that reads that type, with deliveries 1, and nothing else happens.
POISON: tuple[tuple[str, Callable[[int], bytes | None]], ...] = (
    ("checkout.submitted", lambda n: b'{"id": "poison-%d", "type": "checkout.subm' % n),
    ("order.placed", lambda n: _envelope(n, "order.placed", {"order_id": f"poison-{n}"})),
    ("stock.changed", lambda n: _envelope(n, "stock.changed", {"product_id": "many", "on_hand": -1})),
    ("payment.confirmed", lambda n: None),
)


@dataclass(frozen=True)
class Frozen:
    """A SIGSTOP: entries the frozen consumer held when stopped, and still held when resumed."""

    target: str
    seconds: float
    held: int
    left: int


class FaultInjector:
    """Runs faults on a stack and remembers what it did."""

    def __init__(self, stack: Stack, seed: int) -> None:
        self.stack = stack
        self.rng = random.Random(seed * 31337)
        self.done: Counter[str] = Counter()
        self.duplicated_entries = 0
        self.poison: set[tuple[str, str]] = set()  # (stream, entry id) of every poison entry added
        self.errors: list[str] = []
        self.frozen: list[Frozen] = []
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._client = redis.Redis(host="127.0.0.1", port=stack.redis.port, socket_timeout=5, socket_connect_timeout=2)

    def run(self, faults: Sequence[Fault], started: float) -> None:
        """Carry out every fault at ``started + fault.at`` (monotonic); return when all are over."""
        threads = [
            threading.Thread(target=self._at, args=(fault, started), name=f"fault-{fault.kind}-{index}")
            for index, fault in enumerate(faults)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def heal(self) -> None:
        """Resume every frozen process, start Redis if it is down, and restart every dead process."""
        for name, replicas in self.stack.processes.items():
            for index, process in enumerate(replicas):
                if process.poll() is None:
                    process.send_signal(signal.SIGCONT)
                else:
                    log.warning("heal: %s.%d was down (exit %s); starting it", name, index, process.returncode)
                    self.stack.start_process(name, index)
        if not self.stack.redis.is_running:
            self.stack.redis.start()
        self.stack.wait_healthy(60.0)

    def close(self) -> None:
        self._client.close()

    def _at(self, fault: Fault, started: float) -> None:
        delay = started + fault.at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            self._carry_out(fault)
        except Exception as exc:
            log.exception("fault %s failed", fault.label)
            with self._lock:
                self.errors.append(f"{fault.label} at {fault.at:.1f}s: {exc!r}")

    def _carry_out(self, fault: Fault) -> None:
        if fault.kind == "kill":
            with self._turn(f"{fault.target}.{fault.replica}"):
                self.stack.signal(fault.target, signal.SIGKILL, fault.replica)
                self._count(fault)
                time.sleep(fault.hold_s)
                self.stack.start_process(fault.target, fault.replica)
        elif fault.kind == "redis":
            with self._turn("redis"):
                self.stack.redis.kill()
                self._count(fault)
                time.sleep(fault.hold_s)
                self.stack.redis.start()
        elif fault.kind == "stop":
            with self._turn(f"{fault.target}.{fault.replica}"):
                self._freeze(fault)
        elif fault.kind == "duplicates":
            added = self._with_redis(lambda: self._duplicate(fault.count))
            with self._lock:
                self.duplicated_entries += added
            self._count(fault)
        else:
            for _ in range(fault.count):
                self._with_redis(self._add_poison)
            self._count(fault, fault.count)

    def _freeze(self, fault: Fault) -> None:
        """SIGSTOP a replica that is waiting for entries, hand it some, and SIGCONT it after ``hold_s``.

        A replica frozen mid-transaction would hold the SQLite write lock and stall its
        peers too; one frozen while it blocks in ``XREADGROUP`` is still served by Redis,
        so the copies added right after the stop are delivered to it and stay pending
        there until another replica takes them over with ``XAUTOCLAIM``.
        """
        process = self.stack.processes[fault.target][fault.replica]
        consumer = f"{socket.gethostname()}-{process.pid}"  # the runner's default consumer name
        # Idle for a moment: its relay has published what its last transaction staged, too.
        idle_since = time.monotonic()
        deadline = idle_since + FREEZE_WAIT_S
        while (now := time.monotonic()) < deadline:
            if self._pending_of(fault.target, consumer):
                idle_since = now
            elif now - idle_since >= 0.05:
                break
            time.sleep(0.005)
        self.stack.signal(fault.target, signal.SIGSTOP, fault.replica)
        self._count(fault)
        try:
            added = self._with_redis(lambda: self._duplicate(3, group=fault.target))
            with self._lock:
                self.duplicated_entries += added
            time.sleep(BLOCK_MS / 1000 + 0.2)  # its blocking read has been answered by now
            held = self._pending_of(fault.target, consumer)
            time.sleep(max(0.0, fault.hold_s - BLOCK_MS / 1000 - 0.2))
            left = self._pending_of(fault.target, consumer)
        finally:
            self.stack.signal(fault.target, signal.SIGCONT, fault.replica)
        with self._lock:
            self.frozen.append(Frozen(fault.target, fault.hold_s, held, left))

    def _pending_of(self, group: str, consumer: str) -> int:
        """Entries of ``group`` delivered to ``consumer`` and not acked yet (0 when Redis is away)."""
        try:
            total = 0
            for stream in streams(self._client):
                if self._reads(group, stream):
                    summary: dict[str, Any] = self._client.xpending(stream, group)
                    consumers: list[dict[str, Any]] = summary.get("consumers") or []
                    total += sum(int(c["pending"]) for c in consumers if as_text(c["name"]) == consumer)
            return total
        except (redis.ConnectionError, redis.TimeoutError):
            return 0

    def _duplicate(self, count: int, group: str | None = None) -> int:
        """Add copies of ``count`` random entries at their streams' ends (never of ``dlq`` or poison).

        With ``group``, copies of the latest entries of the streams that group reads.
        """
        candidates: list[tuple[str, Entry]] = []
        for stream in streams(self._client):
            if stream == DLQ_STREAM or (group is not None and not self._reads(group, stream)):
                continue
            found = entries(self._client, stream) if group is None else self._latest(stream, 20)
            candidates += [(stream, entry) for entry in found if POISON_MARK not in entry[1]]
        chosen = self.rng.sample(candidates, min(count, len(candidates)))
        pipe = self._client.pipeline(transaction=False)
        for stream, (_entry_id, fields) in chosen:
            pipe.xadd(stream, cast(dict[Any, Any], fields))
        pipe.execute()
        return len(chosen)

    def _reads(self, group: str, stream: str) -> bool:
        groups: list[dict[str, Any]] = self._client.xinfo_groups(stream)
        return any(as_text(g["name"]) == group for g in groups)

    def _latest(self, stream: str, count: int) -> list[Entry]:
        return list(reversed(cast(list[Entry], self._client.xrevrange(stream, count=count))))

    def _add_poison(self) -> None:
        with self._lock:
            number = len(self.poison)
        event_type, event = POISON[number % len(POISON)]
        stream = REGISTRY.stream_of(event_type)
        fields: dict[bytes, bytes] = {b"type": event_type.encode(), POISON_MARK: b"1"}
        body = event(number)
        if body is not None:
            fields[b"event"] = body
        entry_id = self._client.xadd(stream, cast(dict[Any, Any], fields))
        with self._lock:
            self.poison.add((stream, as_text(entry_id)))

    def _with_redis(self, action: Callable[[], T]) -> T:
        """Run ``action`` once Redis answers (it may be down for one of the other faults)."""
        deadline = time.monotonic() + REDIS_RETRY_S
        while True:
            try:
                return action()
            except (redis.ConnectionError, redis.TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _turn(self, key: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def _count(self, fault: Fault, n: int = 1) -> None:
        log.info("fault: %s (hold %.1fs)", fault.label, fault.hold_s)
        with self._lock:
            self.done[fault.label] += n


def _envelope(number: int, event_type: str, data: dict[str, Any]) -> bytes:
    """A well-formed envelope whose data breaks its type's schema."""
    return json.dumps(
        {
            "id": f"poison-{number}",
            "type": event_type,
            "schema_version": 1,
            "source": "chaos",
            "occurred_at": datetime.now(UTC).isoformat(),
            "aggregate_id": f"poison-{number}",
            "aggregate_version": 1,
            "correlation_id": f"poison-{number}",
            "data": data,
        }
    ).encode()
