"""The whole Procfile stack as ``make run`` starts it: honcho over the Procfile, on free ports.

Why honcho and not ``tests/support/stack.py``: the tests' ``Stack`` starts each line as a
process of its own with its output in a file, which is right for killing one worker,
but it leaves out what a developer's ``make run`` pays for: honcho reads every log line
of every process through a pipe and relays it through a queue to its own output. That
is part of the CPU per order, so the benchmark runs honcho itself (its output goes to a
file, as a terminal would take it) and counts honcho's processes with the rest.

Processes are named from honcho's own ``<name>.1 started (pid=N)`` lines: everything
under that pid is that Procfile line; honcho and its relay children are ``honcho``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx

from bench import procstat
from tests.support.ports import free_run
from tests.support.redis_server import FORBIDDEN_PORT

ROOT = Path(__file__).resolve().parents[1]
_STARTED = re.compile(r"^\S+ system +\| (\S+?)\.\d+ started \(pid=(\d+)\)$", re.MULTILINE)


def started_pids(log: str) -> dict[int, str]:
    """pid -> Procfile name, from honcho's ``HH:MM:SS system | web.1 started (pid=123)`` lines."""
    return {int(pid): name for name, pid in _STARTED.findall(log)}


class HonchoStack:
    """``honcho start -f Procfile`` with ``PORT``, ``REDIS_PORT`` and ``DATA_DIR`` of its own."""

    def __init__(
        self, data_dir: Path, env: Mapping[str, str] | None = None, command: Sequence[str] | None = None
    ) -> None:
        self.data_dir = data_dir
        # ``honcho start -f Procfile`` by default; the scaled layout (``scale.bench``) runs its own.
        self.command = list(command) if command is not None else None
        # Runs of ports: the scaled layout (scale.bench) puts its web processes on PORT + 1 and
        # + 2, its replica and sentinels on REDIS_PORT + 1 to + 4.
        self.port = free_run(3)
        self.redis_port = free_run(5)
        if FORBIDDEN_PORT in (self.port, self.redis_port):
            raise RuntimeError(f"refusing to run a stack on port {FORBIDDEN_PORT}")
        self.env = {
            **os.environ,
            "PORT": str(self.port),
            "REDIS_PORT": str(self.redis_port),
            "DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
            # One address sends every request of the benchmark: the abuse limits would refuse it.
            "CHECKOUT_RATE_LIMIT": "0",
            "WS_MAX_PER_ADDRESS": "0",
            **(env or {}),
        }
        self.env.pop("REDIS_URL", None)
        self.log_path = data_dir / "honcho.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def start(self, timeout: float = 60.0) -> None:
        """Start honcho and wait until the web process answers ``/healthz`` with 200."""
        (self.data_dir / "redis").mkdir(parents=True, exist_ok=True)  # as ``make run`` does
        self._log = self.log_path.open("ab")
        honcho = Path(sys.executable).with_name("honcho")
        self._process = subprocess.Popen(
            self.command or [str(honcho), "start", "-f", "Procfile"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"honcho exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        tail = self.log_tail()
        self.stop()  # nothing of a stack that never came up is left running
        raise RuntimeError(f"the stack was not healthy after {timeout:.0f}s:\n{tail}")

    def processes(self) -> dict[int, str]:
        """Every process of the stack (pid -> Procfile name, or ``honcho``)."""
        assert self._process is not None
        started = started_pids(self.log_path.read_text(errors="replace"))
        names: dict[int, str] = {}
        parents = {pid: procstat.read_stat(pid) for pid in procstat.descendants(self._process.pid)}
        for pid, stat in parents.items():  # parents come before their children
            if stat is None:
                continue
            names[pid] = started.get(pid) or names.get(stat.ppid, "honcho")
        return names

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no honcho log)"

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM honcho (it stops every line), then SIGKILL whatever of ours is left."""
        if self._process is None:
            return
        ours = procstat.descendants(self._process.pid)
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for pid in ours[1:]:
            if procstat.read_stat(pid) is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
