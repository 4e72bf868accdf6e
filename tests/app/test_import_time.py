"""Importing the gateway does nothing: no connection, no file, no thread, nothing registered with Starlette.

Engines, clients and registrations are made at start-up by the composition root
(``create_app``), so a module can be imported by a test, a tool or another process freely.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Their import is the process itself: they start serving.
ENTRY_POINTS = {"app.__main__", "app.projector.__main__"}

IMPORT_ALL = """
import importlib, json, socket, sys, threading
from starlette.convertors import CONVERTOR_TYPES

def refuse(*args, **kwargs):
    raise AssertionError("a connection at import time")

socket.socket.connect = refuse
socket.create_connection = refuse
convertors, threads = sorted(CONVERTOR_TYPES), threading.active_count()
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps({"convertors": [sorted(CONVERTOR_TYPES), convertors], "threads": [threading.active_count(), threads]}))
"""


def gateway_modules() -> list[str]:
    names = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name not in ENTRY_POINTS:
            names.append(name)
    return names


def test_importing_every_gateway_module_connects_registers_and_writes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    modules = gateway_modules()
    assert "app.main" in modules and "app.http.paths" in modules

    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, *modules],
        cwd=ROOT,
        env={"DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    after = json.loads(done.stdout)
    assert after["convertors"][0] == after["convertors"][1]
    assert after["threads"][0] == after["threads"][1]
    assert not data_dir.exists()


def test_create_app_registers_the_id_convertor_however_often_it_runs() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from starlette.convertors import CONVERTOR_TYPES\n"
            "from app.main import create_app\n"
            "from workers.eventing import Settings\n"
            "assert 'id' not in CONVERTOR_TYPES\n"
            "create_app(Settings.from_env({})); create_app(Settings.from_env({}))\n"
            "print(type(CONVERTOR_TYPES['id']).__name__)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "IdConvertor"
