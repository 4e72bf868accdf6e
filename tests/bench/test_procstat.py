"""The /proc reader the end-to-end benchmark counts CPU with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench import procstat
from tests.support.waiting import wait_until


def test_a_stat_line_is_parsed_even_when_the_command_name_has_spaces_and_parentheses() -> None:
    ticks = procstat.TICKS_PER_S
    fields = ["S", "41", "42", "42", "0", "-1", "4194560", "100", "0", "0", "0", str(3 * ticks), str(ticks)]
    stat = procstat.parse_stat(f"4242 (odd (name) x) {' '.join(fields)} 20 0 1 0 5 6 7\n")
    assert (stat.pid, stat.comm, stat.ppid) == (4242, "odd (name) x", 41)
    assert stat.cpu_s == 4.0


def test_its_own_process_reads_as_a_child_of_its_parent() -> None:
    stat = procstat.read_stat(os.getpid())
    assert stat is not None
    assert stat.ppid == os.getppid()


def test_a_gone_process_reads_as_none(tmp_path: Path) -> None:
    assert procstat.read_stat(123, proc=tmp_path) is None
    assert procstat.cmdline(123, proc=tmp_path) == []


def test_a_busy_child_is_among_the_descendants_and_its_cpu_grows() -> None:
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        assert child.pid in procstat.descendants(os.getpid())
        assert procstat.cmdline(child.pid) == [sys.executable, "-c", "while True: pass"]
        before = procstat.cpu_seconds([child.pid])
        wait_until(
            lambda: procstat.cpu_between(before, procstat.cpu_seconds([child.pid]))[child.pid] >= 0.05,
            timeout=30,
            message="the busy child's utime+stime did not grow",
        )
    finally:
        child.kill()
        child.wait()
    assert procstat.cpu_seconds([child.pid]) == {}
