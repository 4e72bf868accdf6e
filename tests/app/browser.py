"""What a browser sees of the gateway: socket messages (with a deadline) and elements by id."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

import anyio
from starlette.testclient import WebSocketTestSession
from starlette.types import Message

DEADLINE_S = 10.0


def next_message(websocket: WebSocketTestSession, timeout: float = DEADLINE_S) -> Message:
    """The next message the server sent, failing (instead of hanging) after ``timeout``."""

    async def receive() -> Message:
        with anyio.fail_after(timeout):
            message: Message = await websocket._send_rx.receive()
            return message

    return websocket.portal.call(receive)


def next_json(websocket: WebSocketTestSession, timeout: float = DEADLINE_S) -> dict[str, Any]:
    message = next_message(websocket, timeout)
    assert message["type"] == "websocket.send", message
    body: dict[str, Any] = json.loads(message["text"])
    return body


def next_text(websocket: WebSocketTestSession, timeout: float = DEADLINE_S) -> str:
    message = next_message(websocket, timeout)
    assert message["type"] == "websocket.send", message
    return str(message["text"])


class _Elements(HTMLParser):
    """Text, attributes and buttons of elements with an id, and the page's form inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.attrs: dict[str, dict[str, str | None]] = {}
        self.buttons: dict[str, list[str]] = {}
        self.inputs: dict[str, str] = {}
        self._open: list[str | None] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "input" and named.get("name"):
            self.inputs[str(named["name"])] = named.get("value") or ""
        if tag in _VOID:
            return
        if tag == "button":
            self._button = []
        element_id = named.get("id")
        if element_id:
            self.attrs[element_id] = named
            self.text.setdefault(element_id, "")
            self.buttons.setdefault(element_id, [])
        self._open.append(element_id)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not self._open:
            return
        if tag == "button" and self._button is not None:
            label = " ".join("".join(self._button).split())
            for element_id in self._open:
                if element_id:
                    self.buttons[element_id].append(label)
            self._button = None
        self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)
        for element_id in self._open:
            if element_id:
                self.text[element_id] += data


_VOID = frozenset({"input", "br", "img", "meta", "link", "hr", "source"})


def elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def text_of(html: str, element_id: str) -> str | None:
    """The text of the element with ``element_id`` (stripped), or None when there is none."""
    found = elements(html).text.get(element_id)
    return None if found is None else re.sub(r"\s+", " ", found).strip()


_INPUT_TAG = re.compile(r"<input\b[^>]*>", re.IGNORECASE)


def form_token(html: str) -> str:
    """The CSRF token a page rendered into its forms (or, on a page without forms, into htmx's headers)."""
    # Only the input tags are parsed: a shared gateway's storefront lists every product the
    # module's tests added, and parsing all of it for each token was a sixth of the suite's CPU.
    for tag in _INPUT_TAG.findall(html):
        inputs = elements(tag).inputs
        if "csrf_token" in inputs:
            return inputs["csrf_token"]
    token: str = hx_headers(html)["X-CSRF-Token"]
    return token


def hx_headers(html: str) -> dict[str, Any]:
    """The headers htmx sends with the page's requests: its ``hx-headers`` attribute, read as a browser does."""
    match = re.search(r"hx-headers=(\"[^\"]*\"|'[^']*')", html)
    assert match, "the page has no hx-headers"
    headers: dict[str, Any] = json.loads(unescape(match.group(1)[1:-1]))
    return headers
