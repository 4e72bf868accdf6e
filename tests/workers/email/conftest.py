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
from sqlalchemy import select

from tests.support.harness import ServiceHarness, harnesses
from tests.support.ports import free_port
from workers.email.bootstrap import SPEC
from workers.email.sender import Sender
from workers.email.tables import notifications


class EmailHarness(ServiceHarness):
    """The email service as its process runs it: the consumer records, the sender delivers."""

    @property
    def sender(self) -> Sender:
        """The sender thread's object of this replica's wiring (here run by hand)."""
        [sender] = [task for task in self.wiring.background if isinstance(task, Sender)]
        return sender

    def run_until_idle(self, max_steps: int = 100) -> None:
        """Record what the streams hold, then send whatever is due."""
        self.record_until_idle(max_steps)
        self.sender.drain()

    def record_until_idle(self, max_steps: int = 100) -> None:
        """Only the consumer's part: record what the streams hold, send nothing."""
        super().run_until_idle(max_steps)

    def rows(self) -> list[dict[str, Any]]:
        """Every recorded notification, oldest first."""
        with self.db.snapshot() as conn:
            query = select(notifications).order_by(notifications.c.seq)
            return [dict(row._mapping) for row in conn.execute(query)]

    def unsent(self) -> int:
        return sum(1 for row in self.rows() if row["sent_at"] is None and row["failed_at"] is None)

    def close(self) -> None:
        self.sender.mailer.close()
        super().close()


EmailFactory = Callable[..., EmailHarness]


@pytest.fixture
def start_email(redis_url: str, sqlite_url: str, tmp_path: Path) -> Iterator[EmailFactory]:
    """Start a replica of the email service with extra environment (``SMTP_URL``, ``SHOP_MAIL_FROM``, ...)."""
    with harnesses(SPEC, redis_url=redis_url, database_url=sqlite_url, data_dir=tmp_path, kind=EmailHarness) as start:
        yield _named_replicas(cast(EmailFactory, start))


def _named_replicas(start: EmailFactory) -> EmailFactory:
    # Each replica's sender claims under its own name, as CONSUMER_NAME gives one per replica.
    count = 0

    def start_replica(env: dict[str, str] | None = None) -> EmailHarness:
        nonlocal count
        count += 1
        return start({"CONSUMER_NAME": f"email-{count}", **(env or {})})

    return start_replica


@pytest.fixture
def start_email_on_each_database(redis_url: str, database_url: str, tmp_path: Path) -> Iterator[EmailFactory]:
    """``start_email`` on SQLite, then on PostgreSQL: for what depends on the database's locking."""
    with harnesses(SPEC, redis_url=redis_url, database_url=database_url, data_dir=tmp_path, kind=EmailHarness) as start:
        yield _named_replicas(cast(EmailFactory, start))


@pytest.fixture
def email_service(start_email: EmailFactory) -> EmailHarness:
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
    """An aiosmtpd handler that keeps every message it accepts and counts the sessions it served.

    ``refused`` recipients are turned away (550); ``on_message`` runs once a message is
    kept, before the client hears it was accepted.
    """

    messages: list[EmailMessage] = field(default_factory=list)
    connections: int = 0
    refused: set[str] = field(default_factory=set)
    on_message: Callable[[], object] | None = None

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        # One greeting per SMTP session (no STARTTLS here). Not counted at connect: the
        # controller opens a connection of its own when it starts.
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        self.messages.append(BytesParser(policy=policy.default).parsebytes(raw))
        if self.on_message is not None:
            self.on_message()
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        return [str(message["Message-ID"]) for message in self.messages]


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
