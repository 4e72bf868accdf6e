"""Wiring of the email service (its composition root): the templates and the mailer are chosen here."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from workers.contracts import REGISTRY
from workers.contracts.orders import ORDER_EVENTS
from workers.email.handlers import notify
from workers.email.mailers import DirectoryMailer, Mailer, SmtpMailer
from workers.email.messages import DEFAULT_SENDER, Composer, money
from workers.email.migrations import MIGRATIONS
from workers.email.sender import Sender, SenderSettings
from workers.email.tables import METADATA
from workers.eventing import Handler, Runtime, ServiceSpec, Settings, Wiring

# Found from this file, not the working directory: workers/email/bootstrap.py -> the repository root.
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "email"


def email_templates(directory: Path = TEMPLATES_DIR) -> Environment:
    """The email templates; HTML ones escape everything a shopper typed."""
    environment = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates are read once: checking each one's mtime on every email was a stat()
        # per message for files that change only with a deploy (and a restart).
        auto_reload=False,
    )
    environment.filters["money"] = money
    return environment


def mailer_from(settings: Settings) -> Mailer:
    """SMTP when ``SMTP_URL`` is set, otherwise ``.eml`` files under ``$DATA_DIR/mail``.

    ``MAIL_FSYNC=1`` makes each ``.eml`` file durable before it counts as sent.
    """
    url = settings.text("SMTP_URL")
    if url:
        return SmtpMailer.from_url(url)
    return DirectoryMailer(settings.data_dir / "mail", fsync=settings.integer("MAIL_FSYNC", 0) > 0)


def sender_settings(settings: Settings) -> SenderSettings:
    """``EMAIL_MAX_ATTEMPTS`` (per message), ``EMAIL_CLAIM_TTL_S`` and ``EMAIL_POLL_S`` from the environment."""
    defaults = SenderSettings()
    return SenderSettings(
        max_attempts=max(1, settings.integer("EMAIL_MAX_ATTEMPTS", defaults.max_attempts)),
        # A claim shorter than a send would let another replica send the same email meanwhile.
        claim_ttl_s=max(1.0, settings.number("EMAIL_CLAIM_TTL_S", defaults.claim_ttl_s)),
        poll_interval_s=max(0.01, settings.number("EMAIL_POLL_S", defaults.poll_interval_s)),
    )


def wire(runtime: Runtime) -> Wiring:
    sender = Sender(
        runtime.db,
        mailer_from(runtime.settings),
        Composer(email_templates(), runtime.settings.text("SHOP_MAIL_FROM", DEFAULT_SENDER)),
        # Named after the replica, so a replica restarted under its CONSUMER_NAME resends its own claims at once.
        owner=runtime.consumer.consumer_name,
        settings=sender_settings(runtime.settings),
    )
    record: Handler = partial(notify, recorded=sender.wake)
    # Handlers only write rows (the sender sends after the commit), so the consumer's batches are safe.
    return Wiring(handlers={model.TYPE: record for model in ORDER_EVENTS}, background=[sender])


SPEC = ServiceSpec(name="email", metadata=METADATA, registry=REGISTRY, wire=wire, migrations=MIGRATIONS)
