"""CPU time of running processes, read from ``/proc/<pid>/stat`` as an outside observer would.

``utime + stime`` counts every thread of a process, and the kernel keeps counting it
whoever asks, so a process tree's CPU over a stretch of time is the difference of two
readings. A process that exits in between is lost from the second reading; the
benchmark's processes live for the whole run.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of one ``/proc/<pid>/stat`` the benchmark uses."""

    pid: int
    comm: str
    ppid: int
    cpu_s: float  # utime + stime


def parse_stat(text: str) -> ProcStat:
    """Parse a ``/proc/<pid>/stat`` line; ``comm`` may hold spaces and parentheses, so split at the last ``)``."""
    head, _, rest = text.rpartition(")")
    pid_text, _, comm = head.partition(" (")
    fields = rest.split()
    # After comm: state(0) ppid(1) ... utime(11) stime(12), per proc(5).
    ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
    return ProcStat(int(pid_text), comm, ppid, (utime + stime) / TICKS_PER_S)


def read_stat(pid: int, proc: Path = PROC) -> ProcStat | None:
    """One process's figures, or None when it is gone."""
    try:
        return parse_stat((proc / str(pid) / "stat").read_text())
    except (FileNotFoundError, ProcessLookupError):
        return None


def cmdline(pid: int, proc: Path = PROC) -> list[str]:
    """A process's argv ([] when it is gone or a kernel thread)."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def descendants(root: int, proc: Path = PROC) -> list[int]:
    """``root`` and every process below it, parents before children."""
    children: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name), proc)
            if stat is not None:
                children.setdefault(stat.ppid, []).append(stat.pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        tree.append(pid)
        todo.extend(sorted(children.get(pid, [])))
    return tree


def cpu_seconds(pids: Iterable[int], proc: Path = PROC) -> dict[int, float]:
    """CPU seconds so far of each process still alive."""
    readings = (read_stat(pid, proc) for pid in pids)
    return {stat.pid: stat.cpu_s for stat in readings if stat is not None}


def cpu_between(before: Mapping[int, float], after: Mapping[int, float]) -> dict[int, float]:
    """CPU each process used between two readings (processes in both)."""
    return {pid: after[pid] - before[pid] for pid in before if pid in after}


def stop(process: subprocess.Popen[Any], timeout_s: float) -> None:
    """SIGTERM a child the benchmark started, and SIGKILL it if it has not gone within ``timeout_s``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
