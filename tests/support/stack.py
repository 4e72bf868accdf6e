"""The whole system from the Procfile, on free ports, for tests that drive the contract.

Every Procfile line but ``redis`` runs as its own process (so a test can ``kill -9``
one worker and start it again); Redis is a ``RedisServer`` on a free port with AOF
``always``, as ``scripts/redis.sh`` runs it. Each stack has its own data dir.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support import launch
from tests.support.launch import Started
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer
from tests.support.staff import CHEAP_PASSWORDS

ROOT = Path(__file__).resolve().parents[2]
# How long a web process may take to answer once started: generous, for a machine that runs
# four test processes and their stacks at once (a healthy one answers within seconds).
START_TIMEOUT_S = 90.0


def procfile(path: Path = ROOT / "Procfile") -> dict[str, str]:
    """Process name -> command, as honcho reads them."""
    lines = (line.strip() for line in path.read_text().splitlines())
    pairs = (line.split(":", 1) for line in lines if line and not line.startswith("#"))
    return {name.strip(): command.strip() for name, command in pairs}


class Stack:
    """A running system: Redis, the web process and the workers."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None, *, cold: bool = False) -> None:
        """``cold=True`` starts every process as a new interpreter, as the Procfile does (else see launch.py)."""
        self.data_dir = data_dir
        self.cold = cold
        self.port = free_port()
        self.redis = RedisServer(data_dir / "redis")
        self.commands = procfile()
        self.env = {
            **os.environ,
            "PORT": str(self.port),
            "REDIS_PORT": str(self.redis.port),
            "DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
            "SHIP_DELAY_S": "0",
            "DELIVER_DELAY_S": "0",
            "SHIPPING_TICK_S": "0.2",
            "CLAIM_IDLE_MS": "5000",
            "EMAIL_CLAIM_TTL_S": "5",
            "LOGIN_ATTEMPTS_PER_MINUTE": "10000",
            **CHEAP_PASSWORDS,
            # Tests drive the stack from one address; the abuse limits have tests of their own.
            "CHECKOUT_RATE_LIMIT": "0",
            "CHECKOUT_RATE_LIMIT_TOTAL": "0",
            "WS_MAX_PER_ADDRESS": "0",
            **(env or {}),
        }
        self.env.pop("REDIS_URL", None)
        self.processes: dict[str, list[Started]] = {}
        (data_dir / "logs").mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *names: str) -> None:
        """Start Redis and the named processes (all of the Procfile by default)."""
        if not self.redis.is_running:
            self.redis.start()
        for name in names or [n for n in self.commands if n != "redis"]:
            self.start_process(name)
        self.wait_healthy()

    def start_process(self, name: str, replica: int | None = None) -> Started:
        """One more replica of a Procfile process, or a new process in the place of ``replica``."""
        replicas = self.processes.setdefault(name, [])
        index = len(replicas) if replica is None else replica
        argv, env = self.command(name, index)
        process = launch.start(
            argv, cwd=ROOT, env=env, log=self.data_dir / "logs" / f"{name}.{index}.log", cold=self.cold
        )
        if replica is None:
            replicas.append(process)
        else:
            replicas[replica] = process
        return process

    def command(self, name: str, replica: int) -> tuple[list[str], Mapping[str, str]]:
        """The argv and environment of a process (every replica runs its Procfile line)."""
        return shlex.split(self.commands[name]), self.env

    def signal(self, name: str, signum: int = signal.SIGKILL, replica: int = 0) -> None:
        process = self.processes[name][replica]
        process.send_signal(signum)
        if signum in (signal.SIGKILL, signal.SIGTERM):
            process.wait(timeout=15)

    def restart(self, name: str, replica: int = 0) -> None:
        """Kill a process with SIGKILL (if running) and start it again in the same place (and log)."""
        process = self.processes[name][replica]
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)
        self.start_process(name, replica)
        if name == "web":
            self.wait_healthy()

    def wait_healthy(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = httpx.get(f"{self.url}/healthz", timeout=2.0)
                if last.status_code == 200:
                    return
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.1)
        raise AssertionError(f"web process not healthy after {timeout}s: {last!r}\n{self.log_tail('web')}")

    def log_tail(self, name: str, lines: int = 40) -> str:
        text = []
        for path in sorted((self.data_dir / "logs").glob(f"{name}.*.log")):
            text.append(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(text)

    def stop(self) -> None:
        for replicas in self.processes.values():
            for process in replicas:
                if process.poll() is None:
                    process.send_signal(signal.SIGCONT)
                    process.terminate()
        for replicas in self.processes.values():
            for process in replicas:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self.redis.is_running:
            self.redis.kill()


@contextmanager
def running_stack(data_dir: Path, env: Mapping[str, str] | None = None, *, cold: bool = False) -> Iterator[Stack]:
    stack = Stack(data_dir, env, cold=cold)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
