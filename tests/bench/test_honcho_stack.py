"""Naming the end-to-end stack's processes after honcho's own start lines."""

from __future__ import annotations

from bench.honcho_stack import started_pids

LOG = """\
21:18:01 system      | web.1 started (pid=14368)
21:18:01 system      | redis.1 started (pid=14385)
21:18:02 web.1       | 2026-12-01 21:18:02,001 INFO uvicorn.error: Started server process [14373]
21:18:02 system      | warehouse.1 started (pid=14390)
21:18:02 orders.1    | 21:18:02 system      | orders.1 started (pid=1)
"""


def test_each_procfile_line_is_named_by_the_pid_honcho_started_it_with() -> None:
    # The last line is a process printing what looks like honcho's line: it is not honcho's.
    assert started_pids(LOG) == {14368: "web", 14385: "redis", 14390: "warehouse"}
