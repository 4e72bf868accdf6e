"""``X-Served-By``: which web process answered, when several stand behind a load balancer.

Set by ``WEB_INSTANCE`` (``make scale`` names them ``web1``, ``web2``); without it no
header is added. It tells an operator, and the scale tests, that both processes serve.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServedBy:
    """Adds ``X-Served-By: <instance>`` to every HTTP response."""

    def __init__(self, app: ASGIApp, instance: str) -> None:
        self.app = app
        self.header = (b"x-served-by", instance.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.header[1]:
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)
