"""The scaled layout: which processes run, on which ports, with which settings.

``make scale`` turns it into a Procfile for honcho; the failover test starts the same
processes one by one, so it can ``kill -9`` any of them.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from scale import configs

WEB_REPLICAS = 2
WORKER_REPLICAS = 2
SENTINELS = 3
ROOT = Path(__file__).resolve().parents[1]
# Procfile lines that are not replicated workers.
SINGLE = ("web", "projector", "redis")


@dataclass(frozen=True)
class Ports:
    """Every port of the layout: derived from ``PORT`` and ``REDIS_PORT``, or chosen by a test."""

    balancer: int
    webs: tuple[int, ...]
    primary: int
    replica: int
    sentinels: tuple[int, ...]

    @classmethod
    def derived(cls, port: int, redis_port: int) -> Ports:
        """The balancer on ``port``, webs just above it; Redis on ``redis_port`` and up."""
        return cls(
            balancer=port,
            webs=tuple(port + 1 + index for index in range(WEB_REPLICAS)),
            primary=redis_port,
            replica=redis_port + 1,
            sentinels=tuple(redis_port + 2 + index for index in range(SENTINELS)),
        )


@dataclass(frozen=True)
class Process:
    """One process of the layout: a name unique in the layout, a command and its own settings."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The Procfile name (``orders`` for ``orders.2``)."""
        return self.name.split(".", 1)[0]


@dataclass(frozen=True)
class Layout:
    """The processes of a scaled stack under ``data_dir``, with the settings they share."""

    data_dir: Path
    ports: Ports
    databases: dict[str, str]

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "redis"

    @property
    def sentinel_addresses(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports.sentinels)

    def shared_env(self) -> dict[str, str]:
        """The settings every application process gets."""
        return {
            "DATA_DIR": str(self.data_dir),
            "REDIS_SENTINELS": self.sentinel_addresses,
            "REDIS_SENTINEL_MASTER": configs.MASTER_NAME,
            **self.databases,
        }

    def write_configs(self) -> None:
        """Write the servers' files; keep those of nodes and sentinels that exist already.

        Sentinel rewrites them as roles change: after a failover the node that is now
        primary must come back as primary, and the sentinels must remember it.
        """
        ports = self.ports
        stamp = self.data_dir / "scale" / "ports.json"
        stamp.parent.mkdir(parents=True, exist_ok=True)
        wanted = json.dumps(dataclasses.asdict(ports))
        if stamp.exists() and stamp.read_text() != wanted:
            # Other ports (PORT or REDIS_PORT changed): the kept files would name the old ones.
            for old in stamp.parent.glob("*.conf"):
                old.unlink()
        stamp.write_text(wanted)
        nodes = {"primary": (ports.primary, None), "replica": (ports.replica, ports.primary)}
        for name, (port, replica_of) in nodes.items():
            directory = self.redis_dir / name
            _write_once(self._config(name), configs.redis_node(port, directory, replica_of), directory)
        for index, port in enumerate(ports.sentinels, start=1):
            directory = self.redis_dir / f"sentinel{index}"
            _write_once(
                self._config(f"sentinel{index}"),
                configs.sentinel(port, directory, ports.primary, ports.replica),
                directory,
            )
        self._config("haproxy").write_text(configs.haproxy(ports.balancer, ports.webs))

    def servers(self) -> list[Process]:
        """Redis nodes, sentinels and the balancer."""
        found = [
            Process("redis-primary", ("redis-server", str(self._config("primary")))),
            Process("redis-replica", ("redis-server", str(self._config("replica")))),
        ]
        found += [
            Process(f"sentinel.{index}", ("redis-sentinel", str(self._config(f"sentinel{index}"))))
            for index in range(1, len(self.ports.sentinels) + 1)
        ]
        found.append(Process("haproxy", ("haproxy", "-W", "-db", "-f", str(self._config("haproxy")))))
        return found

    def applications(self) -> list[Process]:
        """The web processes, the projector and every worker's replicas (each with its settings)."""
        commands = procfile()
        found = [
            Process(f"web.{index}", commands["web"], {"PORT": str(port), "WEB_INSTANCE": f"web{index}"})
            for index, port in enumerate(self.ports.webs, start=1)
        ]
        found.append(Process("projector.1", commands["projector"], {"CONSUMER_NAME": "projector-1"}))
        for name, argv in commands.items():
            if name in SINGLE:
                continue
            found += [
                Process(f"{name}.{index}", argv, {"CONSUMER_NAME": f"{name}-{index}"})
                for index in range(1, WORKER_REPLICAS + 1)
            ]
        return found

    def _config(self, name: str) -> Path:
        suffix = "cfg" if name == "haproxy" else "conf"
        return self.data_dir / "scale" / f"{name}.{suffix}"


def procfile(path: Path = ROOT / "Procfile") -> dict[str, tuple[str, ...]]:
    """The project's Procfile: process name -> argv."""
    lines = (line.strip() for line in path.read_text().splitlines())
    pairs = (line.split(":", 1) for line in lines if line and not line.startswith("#"))
    return {name.strip(): tuple(shlex.split(command)) for name, command in pairs}


def _write_once(path: Path, text: str, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(text)
