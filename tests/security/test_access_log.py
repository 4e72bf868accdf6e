"""Order tokens never reach the web process's log: not from pages, the API or sockets."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app.http.access_log import REDACTED
from tests.support.stack import Stack
from tests.support.waiting import wait_until

ORDER_ID = "0190a0b0-0000-7000-8000-000000000000"


@pytest.fixture(scope="module")
def web_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(Path(tmp_path_factory.mktemp("web")))
    try:
        stack.start("web")
        yield stack
    finally:
        stack.stop()


def log(web: Stack) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted((web.data_dir / "logs").glob("web.*.log")))


@pytest.mark.stack
@pytest.mark.parametrize("path", [f"/orders/{ORDER_ID}", f"/api/orders/{ORDER_ID}"])
def test_a_token_in_a_request_url_is_redacted_in_the_access_log(web_process: Stack, path: str) -> None:
    token = secrets.token_urlsafe(24)

    httpx.get(f"{web_process.url}{path}?token={token}&after=0-0")

    wait_until(lambda: f"{path}?token={REDACTED}&after=0-0" in log(web_process), 10.0, "the access log line")
    assert token not in log(web_process)


@pytest.mark.stack
def test_a_token_in_a_socket_url_is_redacted_in_the_log(web_process: Stack) -> None:
    token = secrets.token_urlsafe(24)
    path = f"/ws/orders/{ORDER_ID}"

    with pytest.raises(InvalidStatus):  # no such order: refused at the handshake
        connect(f"ws://127.0.0.1:{web_process.port}{path}?token={token}").close()

    wait_until(lambda: f"{path}?token={REDACTED}" in log(web_process), 10.0, "the socket's log line")
    assert token not in log(web_process)
