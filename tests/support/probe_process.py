"""A process for tests/test_launch.py: ``python -m tests.support.probe_process EXIT [SLEEP_S]``.

It prints what it was started with (argv, working directory, ``PROBE``, whether it can
see a variable of the test process), then sleeps and exits with ``EXIT``.
"""

import json
import os
import sys
import time

print(
    json.dumps(
        {
            "argv": sys.argv[1:],
            "cwd": os.getcwd(),
            "probe": os.environ.get("PROBE"),
            "path": "PATH" in os.environ,
            "name": __name__,
        }
    )
)
print("to stderr", file=sys.stderr)
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0)
sys.exit(int(sys.argv[1]))
