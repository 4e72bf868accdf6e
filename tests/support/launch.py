"""Start a stack's Python processes as forks of one interpreter that has already imported the code.

A service started as ``.venv/bin/python -m workers.orders`` spends about 1.5 s of CPU
before it does anything of its own, most of it importing SQLAlchemy, redis, Alembic and
pydantic; a stack has eight such processes, and the whole-stack tests start a few hundred.
Here a ``multiprocessing`` fork server imports those modules once per test process, and
each ``<this venv's python> -m <module>`` is a fork of it that runs the module as
``python -m`` does, with the command's environment, working directory and log file, in a
process of its own that can be killed, stopped and waited for like any other. Nothing of
ours does work at import (the import-time tests hold that), so a fork differs from a new
interpreter only in what it has already imported.

Measured on a stack: 0.12 s to 0.18 s of CPU a process to its first healthy answer, against
1.5 s to 1.9 s for a new interpreter (the fork server's own imports are paid once). As with any
``multiprocessing`` start method but fork, a script that starts stacks must keep its work under
``if __name__ == "__main__":`` (``python -m pytest`` does).

Anything else (``redis-server``, ``haproxy``, another interpreter) starts with
``subprocess.Popen``, and so does everything when ``cold=True``: the session's shared
stacks start that way, so every run still boots each Procfile process from nothing.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import runpy
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Protocol

# Imported once by the fork server: what the Procfile's Python processes import first.
PRELOAD = [
    "uvicorn",
    "app.main",
    "app.projector.bootstrap",
    "workers.eventing",
    "workers.catalog.bootstrap",
    "workers.orders.bootstrap",
    "workers.payments.bootstrap",
    "workers.warehouse.bootstrap",
    "workers.shipping.bootstrap",
    "workers.email.bootstrap",
]


class Started(Protocol):
    """What the stacks use of a process: ``subprocess.Popen``'s names for them."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


def start(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path, cold: bool = False) -> Started:
    """Run ``argv`` in ``cwd`` with exactly ``env``, its output appended to ``log``."""
    module = None if cold else _python_module(argv, cwd)
    if module is None:
        with open(log, "ab") as out:
            # Never the test process's stdin: a pytest-xdist worker's is its channel to the controller.
            return subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
    process = _context().Process(target=_run_module, args=(module, list(argv[3:]), str(cwd), dict(env), str(log)))
    process.daemon = True  # a process a failed test left behind dies with the test process
    process.start()
    return Forked(process, argv)


class Forked:
    """A fork of the preloaded interpreter, answering as ``subprocess.Popen`` does."""

    def __init__(self, process: multiprocessing.process.BaseProcess, argv: Sequence[str]) -> None:
        self._process = process
        self.args = list(argv)

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _python_module(argv: Sequence[str], cwd: Path) -> str | None:
    """The module of a ``<this interpreter> -m <module> ...`` command, else None."""
    if len(argv) < 3 or argv[1] != "-m":
        return None
    program = Path(argv[0]) if Path(argv[0]).is_absolute() else cwd / argv[0]
    return argv[2] if program.absolute() == Path(sys.executable).absolute() else None


@functools.cache
def _context() -> ForkServerContext:
    """This test process's fork server (started by the first fork, with ``PRELOAD`` imported)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _run_module(module: str, args: list[str], cwd: str, env: dict[str, str], log: str) -> None:
    """In the fork: become ``python -m module args`` in ``cwd`` with ``env``, writing to ``log``."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for target in (1, 2):
        os.dup2(fd, target)
    os.close(fd)
    # Line-buffered, as PYTHONUNBUFFERED=1 makes a new interpreter's: a killed process loses no line.
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
