"""Settings read from the environment once, at start-up.

``DATA_DIR``, ``REDIS_PORT`` and ``PORT`` relocate a whole stack, so two can run side
by side; ``REDIS_URL`` and ``<SERVICE>_DATABASE_URL`` point at other servers.
``REDIS_SENTINELS`` (``host:port,...``) and ``REDIS_SENTINEL_MASTER`` find the Redis
primary through Sentinel instead of ``REDIS_URL`` (whose database number still counts).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

N = TypeVar("N", int, float)

MAX_WAIT_TIMEOUT_MS = 4_000


class SettingsError(ValueError):
    """An environment variable has a value the system cannot use."""


@dataclass(frozen=True)
class RedisTarget:
    """Where the backbone's Redis is, and how many replicas must hold a publish.

    ``sentinels`` empty: ``url`` is the server. Otherwise the primary named ``master``
    is asked of the sentinels on every (re)connect, so a failover needs no restart.
    ``wait_replicas`` > 0: a pipeline that ``XADD``s ends with ``WAIT`` and fails
    unless that many replicas confirm within ``wait_timeout_ms`` (``REDIS_WAIT_REPLICAS``,
    1 by default under Sentinel, else 0; ``REDIS_WAIT_TIMEOUT_MS``).
    """

    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""
    wait_replicas: int = 0
    wait_timeout_ms: int = 500

    def __str__(self) -> str:
        if not self.sentinels:
            return self.url
        where = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"sentinel {self.master}@{where} (WAIT {self.wait_replicas} {self.wait_timeout_ms}ms)"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    redis_url: str
    environ: Mapping[str, str] = field(repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("DATA_DIR") or "./var").resolve()
        port = _int(env, "REDIS_PORT", 6380)
        redis_url = env.get("REDIS_URL") or f"redis://127.0.0.1:{port}/0"
        return cls(data_dir=data_dir, redis_url=redis_url, environ=env)

    @property
    def redis(self) -> RedisTarget:
        """The backbone's Redis: ``REDIS_URL``, or a primary found through Sentinel."""
        sentinels = _sentinels(self.environ.get("REDIS_SENTINELS") or "")
        master = self.text("REDIS_SENTINEL_MASTER")
        if sentinels and not master:
            raise SettingsError("REDIS_SENTINELS needs REDIS_SENTINEL_MASTER (the name the sentinels monitor)")
        wait_timeout_ms = self.integer("REDIS_WAIT_TIMEOUT_MS", 500)
        # WAIT 0 blocks for ever, and a wait past the clients' 5 s socket timeout would
        # look like a dead connection.
        if not 0 < wait_timeout_ms <= MAX_WAIT_TIMEOUT_MS:
            raise SettingsError(f"REDIS_WAIT_TIMEOUT_MS must be between 1 and {MAX_WAIT_TIMEOUT_MS}")
        return RedisTarget(
            url=self.redis_url,
            sentinels=sentinels,
            master=master,
            wait_replicas=self.integer("REDIS_WAIT_REPLICAS", 1 if sentinels else 0),
            wait_timeout_ms=wait_timeout_ms,
        )

    def database_url(self, service: str) -> str:
        """``<SERVICE>_DATABASE_URL``, or the service's own SQLite file under the data dir."""
        explicit = self.environ.get(f"{service.upper()}_DATABASE_URL")
        if explicit:
            return explicit
        return f"sqlite:///{self.data_dir / 'db' / f'{service}.sqlite3'}"

    def integer(self, name: str, default: int) -> int:
        return _int(self.environ, name, default)

    def number(self, name: str, default: float) -> float:
        return _count(self.environ, name, default, float, "a number")

    def text(self, name: str, default: str = "") -> str:
        return self.environ.get(name) or default


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _count(env, name, default, int, "a whole number")


def _count(env: Mapping[str, str], name: str, default: N, parse: Callable[[str], N], kind: str) -> N:
    """``name``'s value read by ``parse``, ``default`` when unset or empty; never negative."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {kind}, not {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value


def _sentinels(raw: str) -> tuple[tuple[str, int], ...]:
    found: list[tuple[str, int]] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise SettingsError(f"REDIS_SENTINELS wants host:port,host:port..., not {item!r}")
        found.append((host, int(port)))
    return tuple(found)
