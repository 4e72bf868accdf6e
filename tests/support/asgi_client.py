"""Starlette's TestClient, with each HTTP request run in its event loop in one call.

Starlette's own transport streams a response back through the client's blocking portal,
about ten calls from the test's thread into the loop's thread for each request. On two
cores that cost 1.5 ms of CPU a request, twice what the app spends on a ``/health``, and
the suite makes tens of thousands of requests. Tests read whole responses, so here the
exchange runs to its end inside the loop in one call, and the response comes back
buffered. The scope is the one Starlette's transport builds.

WebSockets, and requests made outside ``with client:`` (when there is no portal yet), go
through Starlette's transport unchanged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import anyio
import httpx2
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message

PEER = ("testclient", 50000)  # the client address Starlette's TestClient reports
DEFAULT_PORTS = {"http": 80, "https": 443}


class OneCallTransport(httpx2.BaseTransport):
    """Runs an HTTP exchange inside ``client``'s portal in one call; anything else goes to ``fallback``."""

    def __init__(self, client: TestClient, fallback: httpx2.BaseTransport) -> None:
        self.client = client
        self.fallback = fallback
        self.handled = 0  # requests this transport ran itself, so a test can see it is in use

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        portal = self.client.portal
        if portal is None or request.url.scheme not in DEFAULT_PORTS:
            return self.fallback.handle_request(request)
        status, raw_headers, body = portal.call(_exchange, self.client.app, self._scope(request), request.read())
        self.handled += 1
        headers = [(key.decode(), value.decode()) for key, value in raw_headers]
        return httpx2.Response(status, headers=headers, stream=httpx2.ByteStream(body), request=request)

    def _scope(self, request: httpx2.Request) -> dict[str, Any]:
        url = request.url
        headers = [(key.lower().encode(), value.encode()) for key, value in request.headers.multi_items()]
        if "host" not in request.headers:
            headers.insert(0, (b"host", url.netloc))
        return {
            "type": "http",
            "http_version": "1.1",
            "method": request.method,
            "path": unquote(url.path),
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "root_path": "",
            "scheme": url.scheme,
            "query_string": url.query,
            "headers": headers,
            "client": PEER,
            "server": [url.host, url.port or DEFAULT_PORTS[url.scheme]],
            "extensions": {},
            "state": self.client.app_state.copy(),
        }


async def _exchange(app: ASGIApp, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request through ``app``, its response collected whole: status, headers and body."""
    start: Message | None = None
    chunks: list[bytes] = []
    received = False
    complete = anyio.Event()

    async def receive() -> Message:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await complete.wait()  # as a server does: the client "leaves" once it has its response
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            assert start is None, "two http.response.start messages"
            start = message
        elif message["type"] == "http.response.body":
            assert start is not None, "http.response.body before http.response.start"
            assert not complete.is_set(), "http.response.body after the body was complete"
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                complete.set()

    try:
        await app(scope, receive, send)
    finally:
        complete.set()
    if start is None:
        raise AssertionError("the app sent no response")
    body_out = b"" if scope["method"] == "HEAD" else b"".join(chunks)
    return start["status"], list(start.get("headers", [])), body_out


class OneCallTestClient(TestClient):
    """A ``TestClient`` whose HTTP requests go through ``OneCallTransport``."""

    __test__ = False

    def __init__(self, app: ASGIApp, base_url: str = "http://testserver") -> None:
        super().__init__(app, base_url=base_url, client=PEER)
        # httpx2 (pinned in pyproject.toml) keeps the transport of requests that no mount
        # claims in the private ``_transport``. Where a version has none, requests keep
        # Starlette's transport, and tests/test_asgi_client.py fails, saying so.
        starlettes = getattr(self, "_transport", None)
        self.one_call = OneCallTransport(self, starlettes) if isinstance(starlettes, httpx2.BaseTransport) else None
        if self.one_call is not None:
            self._transport = self.one_call
