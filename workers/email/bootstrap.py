"""Wiring of the email service (its composition root): the templates and the mailer are chosen here."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from workers.contracts import REGISTRY
from workers.contracts.orders import (
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderDispatched,
    OrderPlaced,
    OrderShipped,
)
from workers.email.handlers import notify
from workers.email.mailers import DirectoryMailer, Mailer, SmtpMailer
from workers.email.messages import DEFAULT_SENDER, money
from workers.email.tables import METADATA
from workers.eventing import Handler, Runtime, ServiceSpec, Settings, Wiring
from workers.eventing.service import consumer_settings

# Found from this file, not the working directory: workers/email/bootstrap.py -> the repository root.
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "email"

ORDER_EVENTS = (OrderPlaced, OrderConfirmed, OrderCancelled, OrderDispatched, OrderShipped, OrderDelivered)


def email_templates(directory: Path = TEMPLATES_DIR) -> Environment:
    """The email templates; HTML ones escape everything a shopper typed."""
    environment = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["money"] = money
    return environment


def mailer_from(settings: Settings) -> Mailer:
    """SMTP when ``SMTP_URL`` is set, otherwise ``.eml`` files under ``$DATA_DIR/mail``."""
    url = settings.text("SMTP_URL")
    return SmtpMailer.from_url(url) if url else DirectoryMailer(settings.data_dir / "mail")


def wire(runtime: Runtime) -> Wiring:
    send: Handler = partial(
        notify,
        mailer=mailer_from(runtime.settings),
        templates=email_templates(),
        sender=runtime.settings.text("SHOP_MAIL_FROM", DEFAULT_SENDER),
    )
    return Wiring(
        handlers={model.TYPE: send for model in ORDER_EVENTS},
        # One event per transaction: sending is an outside effect a batch rollback cannot undo.
        consumer=consumer_settings(runtime.settings, batch_transaction=False),
    )


SPEC = ServiceSpec(name="email", metadata=METADATA, registry=REGISTRY, wire=wire)
