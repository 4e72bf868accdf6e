"""``python -m scale``: write the scaled layout's files and run it with honcho in the foreground.

``PORT`` is the balancer's port (the web processes listen just above it), ``REDIS_PORT``
the first Redis node's (the replica and the sentinels follow it), ``DATA_DIR`` holds
everything; ``SCALE_DATABASE_PREFIX`` (default ``shop``) names the PostgreSQL databases.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from scale.databases import database_urls
from scale.layout import ROOT, Layout, Ports, Process


def procfile_line(process: Process, shared: dict[str, str]) -> str:
    """``name: respawn.sh env K=V ... command`` (honcho names allow no dots)."""
    env = [f"{key}={value}" for key, value in {**shared, **process.env}.items()]
    argv = [str(ROOT / "scripts" / "respawn.sh"), "env", *env, *process.argv]
    return f"{process.name.replace('.', '-')}: {shlex.join(argv)}"


def main() -> None:
    env = os.environ
    data_dir = Path(env.get("DATA_DIR") or "./var").resolve()
    ports = Ports.derived(int(env.get("PORT") or 8000), int(env.get("REDIS_PORT") or 6380))
    databases = database_urls(env.get("SCALE_DATABASE_PREFIX") or "shop")
    layout = Layout(data_dir, ports, databases)
    layout.write_configs()
    shared = {"PYTHONUNBUFFERED": "1", **layout.shared_env()}
    lines = [procfile_line(process, {}) for process in layout.servers()]
    lines += [procfile_line(process, shared) for process in layout.applications()]
    path = data_dir / "scale" / "Procfile"
    path.write_text("\n".join(lines) + "\n")
    print(
        f"make scale: the shop on http://127.0.0.1:{ports.balancer} (HAProxy) in front of "
        f"web processes on {', '.join(map(str, ports.webs))}; Redis primary {ports.primary}, "
        f"replica {ports.replica}, sentinels {layout.sentinel_addresses}",
        flush=True,
    )
    honcho = str(Path(sys.executable).parent / "honcho")
    os.chdir(ROOT)
    os.execv(honcho, [honcho, "start", "-f", str(path), "-d", str(ROOT)])


if __name__ == "__main__":
    main()
