"""The ``make scale`` layout for tests: every process its own, so a test can ``kill -9`` any of them.

The processes and their settings come from scale/layout.py, as ``make scale`` runs them;
Redis is a ``ReplicatedRedis`` (a primary, a replica, three sentinels) and HAProxy
balances the web processes on the stack's ``port``. It is a ``Stack``, so the chaos
run's load driver, healer and checkers work on it unchanged: ``stack.redis`` is
whichever node Sentinel names primary at the moment.
"""

from __future__ import annotations

import shlex
import socket
from collections.abc import Mapping
from pathlib import Path

import redis

from scale.configs import haproxy
from scale.layout import Layout, Ports, Process
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer
from tests.support.sentinel import ReplicatedRedis, Server
from tests.support.stack import START_TIMEOUT_S, Stack


class CurrentPrimary(RedisServer):
    """``stack.redis`` of a scaled stack: the node Sentinel names primary now."""

    def __init__(self, replicated: ReplicatedRedis) -> None:
        super().__init__(replicated.data_dir)
        self.replicated = replicated

    @property
    def port(self) -> int:
        return self.replicated.primary_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def is_running(self) -> bool:
        return self.replicated.primary.running

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=0, socket_connect_timeout=2)

    def start(self) -> None:
        """Start every node that is down (a killed one rejoins; Sentinel makes it a replica)."""
        for node in self.replicated.nodes.values():
            if not node.running:
                node.start()

    def kill(self) -> None:
        self.replicated.primary.kill()

    def stop(self, timeout: float = 10.0) -> None:
        self.replicated.stop()


class ScaleStack(Stack):
    """Two web processes behind HAProxy, two replicas of every worker, one projector, Redis with Sentinel."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None, *, cold: bool = False) -> None:
        super().__init__(data_dir, env, cold=cold)
        self.replicated = ReplicatedRedis(data_dir / "redis")
        self.redis = CurrentPrimary(self.replicated)
        nodes = sorted(self.replicated.nodes)
        ports = Ports(
            balancer=self.port,
            webs=(free_port(), free_port()),
            primary=nodes[0],
            replica=nodes[1],
            sentinels=tuple(s.port for s in self.replicated.sentinels),
        )
        layout = Layout(data_dir, ports, databases={})
        self.web_ports = ports.webs
        self.env.update(layout.shared_env())
        self.specs: dict[str, list[Process]] = {}
        for process in layout.applications():
            self.specs.setdefault(process.kind, []).append(process)
        self.commands = {kind: shlex.join(specs[0].argv) for kind, specs in self.specs.items()}
        config = data_dir / "haproxy.cfg"
        config.write_text(haproxy(ports.balancer, ports.webs))
        self.balancer = _Balancer(config, self.port, data_dir / "logs" / "haproxy.log")

    def start(self, *names: str) -> None:
        self.replicated.start()
        self.balancer.start()
        for name in names or list(self.specs):
            for _ in self.specs[name]:
                self.start_process(name)
        self.wait_healthy(START_TIMEOUT_S)

    def command(self, name: str, replica: int) -> tuple[list[str], Mapping[str, str]]:
        spec = self.specs[name][replica]  # each replica has its own settings in the layout
        return list(spec.argv), {**self.env, **spec.env}

    def stop(self) -> None:
        super().stop()
        self.balancer.stop()
        self.replicated.stop()


class _Balancer(Server):
    """HAProxy in the foreground (``-db``), answering on the stack's port."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        super().__init__("haproxy", ["haproxy", "-W", "-db", "-f", str(config)], port, log)

    def _answers(self) -> bool:
        if not self.running:
            raise AssertionError(f"haproxy exited:\n{self.tail()}")
        with socket.socket() as probe:
            probe.settimeout(1)
            return probe.connect_ex(("127.0.0.1", self.port)) == 0
