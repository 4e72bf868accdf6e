"""``tests.support.launch`` starts a ``python -m`` command as a fork that behaves as the command would."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import launch

PROBE = [sys.executable, "-m", "tests.support.probe_process"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("cold", [False, True], ids=["forked", "cold"])
def test_a_process_gets_its_argv_directory_environment_and_log_and_its_exit_code(tmp_path: Path, cold: bool) -> None:
    log = tmp_path / "probe.log"
    log.write_text("earlier line\n")

    process = launch.start([*PROBE, "3"], cwd=ROOT, env={"PROBE": "seen", "PYTHONUNBUFFERED": "1"}, log=log, cold=cold)

    assert process.wait(timeout=30) == 3 and process.poll() == 3 and process.returncode == 3
    assert isinstance(process, launch.Forked) != cold
    first, report, stderr = log.read_text().splitlines()
    assert first == "earlier line"  # appended to, as the stacks' logs are across restarts
    assert json.loads(report) == {"argv": ["3"], "cwd": str(ROOT), "probe": "seen", "path": False, "name": "__main__"}
    assert stderr == "to stderr"


@pytest.mark.parametrize("cold", [False, True], ids=["forked", "cold"])
def test_a_process_can_be_stopped_continued_and_killed_like_a_popen(tmp_path: Path, cold: bool) -> None:
    process = launch.start([*PROBE, "0", "60"], cwd=ROOT, env={}, log=tmp_path / "probe.log", cold=cold)

    process.send_signal(signal.SIGSTOP)
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=0.2)
    assert process.poll() is None
    process.send_signal(signal.SIGCONT)
    process.kill()
    assert process.wait(timeout=30) == -signal.SIGKILL
    process.kill()  # a process that is gone is left alone, as Popen does


def test_a_process_that_fails_leaves_its_traceback_in_its_log(tmp_path: Path) -> None:
    log = tmp_path / "probe.log"

    process = launch.start([*PROBE, "not a number"], cwd=ROOT, env={}, log=log)

    assert process.wait(timeout=30) == 1
    assert "ValueError: invalid literal for int()" in log.read_text()


def test_only_this_interpreters_python_dash_m_is_forked(tmp_path: Path) -> None:
    other = launch.start(["/bin/sh", "-c", "echo from sh"], cwd=ROOT, env={}, log=tmp_path / "sh.log")

    assert other.wait(timeout=30) == 0
    assert not isinstance(other, launch.Forked)
    assert (tmp_path / "sh.log").read_text() == "from sh\n"
    relative = Path(sys.executable).relative_to(ROOT) if Path(sys.executable).is_relative_to(ROOT) else None
    if relative is not None:  # the Procfile's own spelling, .venv/bin/python
        assert launch._python_module([str(relative), "-m", "app"], ROOT) == "app"
    assert launch._python_module(["/usr/bin/python3", "-m", "app"], ROOT) is None
