"""Hostile input for the security suite, and what "rendered harmlessly" means for HTML."""

from __future__ import annotations

from collections.abc import Iterable
from html.parser import HTMLParser

from markupsafe import escape

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = "\"'><img src=x onerror=alert(1)>"
PAYLOADS = (SCRIPT, ATTRIBUTE)

# What a shopper can type at checkout: both payloads in the name and (over two lines) the address.
HOSTILE_NAME = f"Eve {SCRIPT} {ATTRIBUTE}"
HOSTILE_ADDRESS = f"{ATTRIBUTE} Lane 1\n{SCRIPT} Town"
HOSTILE_CUSTOMER = {"email": "eve@example.com", "name": HOSTILE_NAME, "address": HOSTILE_ADDRESS}
# What the catalog can announce: a product whose every text field is hostile.
HOSTILE_PRODUCT = {"name": f"Kettle {SCRIPT}", "description": f"Pours {ATTRIBUTE} slowly", "sku": SCRIPT}


class _Active(HTMLParser):
    """What in a document could run: event-handler attributes, javascript: URLs, inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")
        if tag == "img":
            self.found.append("<img>")
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"inline <script>{data[:40]}")


def assert_inert(html: str, shown: Iterable[str] = ()) -> None:
    """Neither payload appears raw and nothing in ``html`` could run; each of ``shown`` appears escaped."""
    for payload in PAYLOADS:
        assert payload not in html, f"unescaped {payload!r} in:\n{html}"
    parser = _Active()
    parser.feed(html)
    assert not parser.found, f"active content {parser.found} in:\n{html}"
    for text in shown:
        assert str(escape(text)) in html, f"{text!r} is not shown (escaped) in:\n{html}"
