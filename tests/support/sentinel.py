"""A replicated Redis for tests: a primary, a replica and three sentinels on free ports.

The nodes and sentinels run from the same files ``make scale`` writes (scale/configs.py),
each a process of its own, so a test can ``kill -9`` the primary, ``SIGSTOP`` the
replica, and watch Sentinel promote it.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import redis

from scale import configs
from tests.support.ports import free_port
from tests.support.waiting import wait_until
from workers.eventing.settings import RedisTarget


class Server:
    """One server process (a Redis node or a sentinel) with its config file and log."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path) -> None:
        self.name, self.argv, self.port, self.log = name, argv, port, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        wait_until(self._answers, timeout=15, message=lambda: f"{self.name} did not start:\n{self.tail()}")

    def kill(self) -> None:
        """``kill -9``: no chance to save or hand anything over."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1, socket_timeout=5)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def _answers(self) -> bool:
        if not self.running:
            raise AssertionError(f"{self.name} exited:\n{self.tail()}")
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.RedisError:
            return False


class ReplicatedRedis:
    """Two Redis nodes watched by three sentinels; ``target()`` is how clients find the primary."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        first, second = free_port(), free_port()
        self.nodes = {
            first: self._node("node-a", first, None),
            second: self._node("node-b", second, first),
        }
        self.sentinels = [self._sentinel(index, free_port(), first, second) for index in range(1, 4)]

    def target(self, wait_replicas: int = 1, wait_timeout_ms: int = 1000) -> RedisTarget:
        # A healthy replica on this host confirms within milliseconds (WAIT asks it at once), so a
        # second is ample even on a loaded machine; a paused replica costs the full second per
        # attempt, and the tests that pause it make several.
        return RedisTarget(
            url="redis://127.0.0.1/0",
            sentinels=tuple(("127.0.0.1", s.port) for s in self.sentinels),
            master=configs.MASTER_NAME,
            wait_replicas=wait_replicas,
            wait_timeout_ms=wait_timeout_ms,
        )

    @property
    def sentinel_addresses(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def primary_port(self) -> int:
        """The primary's port, as the first sentinel that answers sees it."""
        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            with sentinel.client() as client:
                host_port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", configs.MASTER_NAME)
            return int(host_port[1])
        raise AssertionError("no sentinel is running")

    @property
    def primary(self) -> Server:
        return self.nodes[self.primary_port()]

    @property
    def replica(self) -> Server:
        primary = self.primary_port()
        return next(node for port, node in self.nodes.items() if port != primary)

    def wait_replicated(self, timeout: float = 30.0) -> None:
        """Until the replica follows the primary and every sentinel knows both."""
        primary, replica = self.primary, self.replica

        def linked() -> bool:
            try:
                with replica.client() as client:
                    info = client.info("replication")
            except redis.RedisError:
                return False
            if info.get("master_port") != primary.port or info.get("master_link_status") != "up":
                return False
            for sentinel in self.sentinels:
                with sentinel.client() as client:
                    known = client.execute_command("SENTINEL", "REPLICAS", configs.MASTER_NAME)
                if not any(b"flags" in r and b"s_down" not in _flags(r) for r in _as_dicts(known)):
                    return False
            return True

        wait_until(linked, timeout=timeout, message=lambda: f"replica not linked:\n{replica.tail()}")

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Until the replica has everything the primary has written (so a ``WAIT`` now confirms at once)."""

        def caught_up() -> bool:
            try:
                with self.primary.client() as primary, self.replica.client() as replica:
                    written = int(primary.info("replication")["master_repl_offset"])
                    info = replica.info("replication")
            except redis.RedisError:
                return False
            return info.get("master_link_status") == "up" and int(info.get("slave_repl_offset", -1)) >= written

        wait_until(caught_up, timeout=timeout, message=lambda: f"replica not caught up:\n{self.replica.tail()}")

    def wait_promoted(self, old_port: int, timeout: float = 60.0) -> int:
        """Until the sentinels name another node primary and it takes writes; its port."""

        def promoted() -> int | None:
            try:
                port = self.primary_port()
            except redis.RedisError:
                return None
            if port == old_port:
                return None
            try:
                with self.nodes[port].client() as client:
                    return port if client.info("replication").get("role") == "master" else None
            except redis.RedisError:
                return None

        return wait_until(promoted, timeout=timeout, message=lambda: "no failover:\n" + self.sentinels[0].tail())

    def start(self) -> None:
        for server in [*self.nodes.values(), *self.sentinels]:
            server.start()
        self.wait_replicated()

    def stop(self) -> None:
        for server in [*self.sentinels, *self.nodes.values()]:
            server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _node(self, name: str, port: int, replica_of: int | None) -> Server:
        directory = self.data_dir / name
        directory.mkdir(parents=True, exist_ok=True)
        conf = directory / "redis.conf"
        conf.write_text(configs.redis_node(port, directory, replica_of))
        return Server(name, ["redis-server", str(conf)], port, directory / "redis.log")

    def _sentinel(self, index: int, port: int, primary: int, replica: int) -> Server:
        directory = self.data_dir / f"sentinel{index}"
        directory.mkdir(parents=True, exist_ok=True)
        conf = directory / "sentinel.conf"
        conf.write_text(configs.sentinel(port, directory, primary, replica))
        return Server(f"sentinel{index}", ["redis-sentinel", str(conf)], port, directory / "sentinel.log")


def _as_dicts(reply: object) -> list[dict[bytes, bytes]]:
    # SENTINEL REPLICAS answers a list of flat [key, value, ...] lists (RESP2).
    found: list[dict[bytes, bytes]] = []
    for item in reply if isinstance(reply, list) else []:
        if isinstance(item, dict):
            found.append(item)
        elif isinstance(item, list):
            found.append(dict(zip(item[::2], item[1::2], strict=False)))
    return found


def _flags(replica: dict[bytes, bytes]) -> bytes:
    return replica.get(b"flags", b"")


def wait_a_moment(seconds: float) -> None:
    """A pause the scenario itself needs (a replica frozen for this long), not a wait for a result."""
    time.sleep(seconds)
