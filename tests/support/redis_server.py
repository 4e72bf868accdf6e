"""A real, throwaway ``redis-server`` process for tests.

Tests that exercise Redis Streams (consumer groups, pending entries, crash
recovery) need the real server: fakes do not reproduce AOF persistence,
blocking reads or what clients see while the server is down.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.ports import free_port

REDIS_SERVER_BINARY = "/usr/bin/redis-server"
# The machine's own Redis listens here; tests must never talk to it.
FORBIDDEN_PORT = 6379
LOG_FILE_NAME = "redis.log"
# How large the append-only file of a server shared across tests may grow before emptying rewrites it.
AOF_REWRITE_BYTES = 1 << 20


class RedisServer:
    """Run ``redis-server`` on 127.0.0.1 with its data in ``data_dir``.

    The server persists every write to its append-only file before replying
    (``appendfsync always``), so an acknowledged write survives :meth:`kill`.
    The port is chosen once and kept across restarts, so clients built from
    :attr:`url` can reconnect to the "same" server after a crash.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        binary: str = REDIS_SERVER_BINARY,
        start_timeout: float = 10.0,
    ) -> None:
        """Prepare (but do not start) a server; ``port`` defaults to a free one."""
        self.data_dir = data_dir
        self._port = free_port() if port is None else port
        if self._port == FORBIDDEN_PORT:
            raise ValueError(f"refusing to run a test Redis on port {FORBIDDEN_PORT}")
        self.binary = binary
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on (stable across restarts)."""
        return self._port

    @property
    def url(self) -> str:
        """A redis-py URL for database 0 of this server."""
        return f"redis://127.0.0.1:{self._port}/0"

    @property
    def log_path(self) -> Path:
        """The server's log file (kept by ``restart(empty=True)`` for debugging)."""
        return self.data_dir / LOG_FILE_NAME

    @property
    def is_running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def client(self) -> redis.Redis:
        """Return a new synchronous client (bytes responses); the caller closes it."""
        # Only the connect timeout is bounded: a read timeout would break
        # tests that use long blocking XREAD/XREADGROUP calls.
        return redis.Redis(host="127.0.0.1", port=self._port, db=0, socket_connect_timeout=2)

    def start(self) -> None:
        """Start the server and wait until it answers PING.

        Raises ``RuntimeError`` with the end of the server log if it exits or
        does not answer within ``start_timeout`` seconds.
        """
        if self.is_running:
            raise RuntimeError(f"redis-server on port {self._port} is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Startup errors (bad option, port in use) go to stderr before the
        # log file is opened, so stdout/stderr are appended to the same file.
        self._log = self.log_path.open("ab")
        options = {
            "port": str(self._port),
            "bind": "127.0.0.1",
            "dir": str(self.data_dir),
            "logfile": str(self.log_path),
            "appendonly": "yes",
            "appendfsync": "always",
            "save": "",  # no RDB snapshots: the AOF alone must carry the data
            "daemonize": "no",  # we own the process and its PID
            "protected-mode": "no",
            # Blocking reads time out on server ticks: 100 a second keeps short BLOCKs short.
            "hz": "100",
        }
        args = [self.binary]
        for name, value in options.items():
            args += [f"--{name}", value]
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_until_ready()

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down with SIGTERM and wait; SIGKILL if it hangs."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._reap()

    def kill(self) -> None:
        """Simulate a crash: SIGKILL, so Redis gets no chance to save anything."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        self._reap()

    def restart(self, empty: bool = False) -> None:
        """Start the server again on the same port, after stopping it if needed.

        With ``empty=True`` the data directory (AOF etc.) is wiped first, which
        simulates a Redis that lost all data, e.g. a replaced container.
        """
        self.stop()
        if empty:
            for path in self.data_dir.iterdir():
                if path.name == LOG_FILE_NAME:
                    continue
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        self.start()

    def empty(self) -> None:
        """Leave the running server as a fresh one would be: no keys, no scripts, no other clients.

        A server shared by a test process's tests is emptied before each. Its append-only
        file is rewritten once it passes 1 MiB, so a test that restarts the server replays
        little of the tests before it (and their keys are gone again by the FLUSHALL).
        """
        with self.client() as client:
            client.execute_command("CLIENT", "KILL", "SKIPME", "yes")
            client.flushall()
            client.script_flush()
            client.execute_command("FUNCTION", "FLUSH")
            client.config_resetstat()
            if int(client.info("persistence").get("aof_current_size", 0)) > AOF_REWRITE_BYTES:
                client.bgrewriteaof()

    def __enter__(self) -> Self:
        """Start the server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server, whatever happened in the block."""
        self.stop()

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._reap()
                raise RuntimeError(f"redis-server on port {self._port} exited during startup:\n{self._log_tail()}")
            if self._answers_as_our_process():
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(
            f"redis-server on port {self._port} did not answer PING within {self.start_timeout} s:\n{self._log_tail()}"
        )

    def _answers_as_our_process(self) -> bool:
        # Checking the PID guards against a stranger that grabbed the port
        # between free_port() and our bind: PING alone would be fooled.
        assert self._process is not None
        # No retries: redis-py's default backoff would only slow the polling.
        probe = redis.Redis(
            host="127.0.0.1",
            port=self._port,
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            with probe:
                info = probe.info("server")
        except (redis.ConnectionError, redis.TimeoutError):
            # BusyLoadingError (still replaying the AOF) is a ConnectionError.
            return False
        return bool(info.get("process_id") == self._process.pid)

    def _reap(self) -> None:
        if self._process is not None:
            self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log file)"
        return "\n".join(text.splitlines()[-lines:])
