"""Where emails go: an SMTP server, or a directory of ``.eml`` files when there is none.

A mailer is used by one sender thread at a time. ``send`` raises ``MailerUnavailable``
when no message can go out now (the server is down, refuses us, or dropped us twice):
the sender then waits and tries again later without counting it against the message.
Any other exception is this message's own problem (a refused recipient, say).
"""

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

# 421 is the server saying it is closing the connection: no message's fault.
SERVICE_CLOSING = 421


class MailerUnavailable(Exception):
    """The mailer cannot take any message right now; try again later."""


class Mailer(Protocol):
    def send(self, message: EmailMessage, *, name: str) -> str:
        """Deliver ``message`` and say where it went (for the log line).

        ``name`` (``<order_id>-<status>.eml``) is for mailers that store the message.
        """

    def close(self) -> None:
        """Let go of any connection; the next ``send`` opens a new one."""


@dataclass
class SmtpMailer:
    """Keeps one SMTP connection open while there is work, and opens a new one if the server dropped it."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 10.0
    _smtp: smtplib.SMTP | None = field(default=None, init=False, repr=False, compare=False)

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

    @property
    def connected(self) -> bool:
        return self._smtp is not None

    def send(self, message: EmailMessage, *, name: str) -> str:
        reused = self._smtp is not None
        try:
            self._connection().send_message(message)
        except smtplib.SMTPException as exc:
            if not _connection_lost(exc):
                raise  # refused recipient or sender, rejected data: this message's problem
            self._retry_on_new_connection(message, exc, reused)
        except OSError as exc:  # reset, broken pipe, timeout
            self._retry_on_new_connection(message, exc, reused)
        return f"over SMTP {self.host}:{self.port}"

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
        log.debug("email: SMTP connection to %s:%s closed", self.host, self.port)

    def _retry_on_new_connection(self, message: EmailMessage, error: Exception, reused: bool) -> None:
        self._discard()
        if not reused:
            raise MailerUnavailable(f"SMTP {self.host}:{self.port}: {error!r}") from error
        # A connection kept open between batches may have been closed by the server meanwhile.
        log.debug("email: SMTP connection to %s:%s was dropped (%r); reconnecting", self.host, self.port, error)
        try:
            self._connection().send_message(message)
        except smtplib.SMTPException as exc:
            if not _connection_lost(exc):
                raise
            self._discard()
            raise MailerUnavailable(f"SMTP {self.host}:{self.port}: {exc!r}") from exc
        except OSError as exc:
            self._discard()
            raise MailerUnavailable(f"SMTP {self.host}:{self.port}: {exc!r}") from exc

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        smtp = smtplib.SMTP(timeout=self.timeout_s)
        try:
            smtp.connect(self.host, self.port)
            if self.username:
                # Credentials never cross the network in clear when the server can encrypt.
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                smtp.login(self.username, self.password or "")
        except OSError as exc:  # SMTPException is an OSError too: refused at the door, or bad credentials
            smtp.close()
            raise MailerUnavailable(f"SMTP {self.host}:{self.port}: {exc!r}") from exc
        log.debug("email: SMTP connection to %s:%s opened", self.host, self.port)
        self._smtp = smtp
        return smtp

    def _discard(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def _connection_lost(exc: smtplib.SMTPException) -> bool:
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == SERVICE_CLOSING


@dataclass(frozen=True)
class DirectoryMailer:
    """Writes each message to ``<directory>/<name>``; sending it again rewrites the same file.

    ``fsync`` (``MAIL_FSYNC=1``) makes each file durable before it counts as sent. It is
    off by default: the directory stands in for an SMTP server in development, and a
    power cut (not a crash: the page cache survives ``kill -9``) may then lose the last
    files written although they are marked sent.
    """

    directory: Path
    fsync: bool = False

    def send(self, message: EmailMessage, *, name: str) -> str:
        target = self.directory / name
        # Written aside and renamed: a crash leaves the old file or the new one, never half of one.
        try:
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        except FileNotFoundError:  # the first message, or the directory was removed meanwhile
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(message.as_bytes())
                if self.fsync:
                    file.flush()
                    os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        if self.fsync:
            _fsync_directory(self.directory)
        return f"written to {target}"

    def close(self) -> None:
        """Nothing to let go of."""


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory itself is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
