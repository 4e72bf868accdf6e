"""Settings read from the environment once, at start-up.

``DATA_DIR``, ``REDIS_PORT`` and ``PORT`` relocate a whole stack, so two can run side
by side; ``REDIS_URL`` and ``<SERVICE>_DATABASE_URL`` point at other servers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(ValueError):
    """An environment variable has a value the system cannot use."""


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

    def database_url(self, service: str) -> str:
        """``<SERVICE>_DATABASE_URL``, or the service's own SQLite file under the data dir."""
        explicit = self.environ.get(f"{service.upper()}_DATABASE_URL")
        if explicit:
            return explicit
        return f"sqlite:///{self.data_dir / 'db' / f'{service}.sqlite3'}"

    def integer(self, name: str, default: int) -> int:
        return _int(self.environ, name, default)

    def number(self, name: str, default: float) -> float:
        raw = self.environ.get(name)
        if raw in (None, ""):
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, not {raw!r}") from None
        if value < 0:
            raise SettingsError(f"{name} must not be negative")
        return value

    def text(self, name: str, default: str = "") -> str:
        return self.environ.get(name) or default


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value
