"""Where emails go: an SMTP server, or a directory of ``.eml`` files when there is none."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)


class Mailer(Protocol):
    def send(self, message: EmailMessage, *, name: str) -> None:
        """Deliver ``message``; ``name`` (``<order_id>-<status>.eml``) is for mailers that store it."""


@dataclass(frozen=True)
class SmtpMailer:
    """One SMTP connection per message: emails are rare, and a broken connection never lingers."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 10.0

    @classmethod
    def from_url(cls, url: str) -> SmtpMailer:
        """``smtp://[user:password@]host[:port]``."""
        parts = urlsplit(url)
        if parts.scheme != "smtp" or not parts.hostname:
            raise ValueError(f"SMTP_URL must look like smtp://[user:password@]host:port, not {url!r}")
        return cls(
            host=parts.hostname,
            port=parts.port or 25,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def send(self, message: EmailMessage, *, name: str) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.username:
                # Credentials never cross the network in clear when the server can encrypt.
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
        log.info("email: %s sent to %s over SMTP %s:%s", message["Message-ID"], message["To"], self.host, self.port)


@dataclass(frozen=True)
class DirectoryMailer:
    """Writes each message to ``<directory>/<name>``; sending it again rewrites the same file."""

    directory: Path

    def send(self, message: EmailMessage, *, name: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / name
        # Written aside and renamed: a crash leaves the old file or the new one, never half of one.
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(message.as_bytes())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        log.info("email: %s written to %s", message["Message-ID"], target)
