"""The email service wired as in production, a real SMTP server to receive what it sends, and readers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller

from tests.support.harness import ServiceHarness, harnesses
from tests.support.ports import free_port
from workers.email.bootstrap import SPEC

EmailFactory = Callable[..., ServiceHarness]


@pytest.fixture
def start_email(redis_url: str, sqlite_url: str, tmp_path: Path) -> Iterator[EmailFactory]:
    """Start the email service with extra environment (``SMTP_URL``, ``SHOP_MAIL_FROM``, ...)."""
    with harnesses(SPEC, redis_url=redis_url, database_url=sqlite_url, data_dir=tmp_path) as start:
        yield start


@pytest.fixture
def email_service(start_email: EmailFactory) -> ServiceHarness:
    """The email service without SMTP: it writes ``.eml`` files under ``$DATA_DIR/mail``."""
    return start_email()


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


def read_eml(path: Path) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML alternatives of a message."""
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return cast(str, cast(EmailMessage, text).get_content()), cast(str, cast(EmailMessage, html).get_content())


@dataclass
class SmtpInbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        self.messages.append(BytesParser(policy=policy.default).parsebytes(raw))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    inbox: SmtpInbox
    controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free port, not started: the test decides when it is up."""
    server = SmtpServer(port=free_port(), inbox=SmtpInbox())
    try:
        yield server
    finally:
        server.stop()
