"""The mailers, the message helpers and the wiring's choices, on their own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.workers.order_snapshots import new_order_id, order_event
from workers.contracts.orders import OrderPlaced
from workers.email.bootstrap import email_templates, mailer_from
from workers.email.mailers import DirectoryMailer, SmtpMailer
from workers.email.messages import cancellation, compose, file_name, render
from workers.eventing import Settings


def test_an_smtp_url_names_host_port_and_optional_credentials() -> None:
    assert SmtpMailer.from_url("smtp://mail.example:2525") == SmtpMailer(host="mail.example", port=2525)
    assert SmtpMailer.from_url("smtp://mail.example").port == 25
    mailer = SmtpMailer.from_url("smtp://shop%40example.com:p%3Ass@mail.example:587")
    assert (mailer.username, mailer.password) == ("shop@example.com", "p:ss")
    assert "p:ss" not in repr(mailer)


@pytest.mark.parametrize("url", ["http://mail.example:25", "smtp://", "mail.example:25"])
def test_an_smtp_url_of_another_kind_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP_URL"):
        SmtpMailer.from_url(url)


def test_without_smtp_url_mail_goes_to_the_data_directory(tmp_path: Path) -> None:
    assert mailer_from(Settings.from_env({"DATA_DIR": str(tmp_path)})) == DirectoryMailer(tmp_path / "mail")
    durable = Settings.from_env({"DATA_DIR": str(tmp_path), "MAIL_FSYNC": "1"})
    assert mailer_from(durable) == DirectoryMailer(tmp_path / "mail", fsync=True)
    with_smtp = Settings.from_env({"DATA_DIR": str(tmp_path), "SMTP_URL": "smtp://127.0.0.1:2525"})
    assert mailer_from(with_smtp) == SmtpMailer(host="127.0.0.1", port=2525)


@pytest.mark.parametrize("fsync", [False, True], ids=["by default", "with MAIL_FSYNC"])
def test_the_directory_mailer_replaces_the_file_and_leaves_nothing_else(tmp_path: Path, fsync: bool) -> None:
    mailer = DirectoryMailer(tmp_path / "mail", fsync=fsync)
    order = order_event(OrderPlaced, new_order_id(), [(1, 1)])
    message = compose(order, sender="Shop <shop@example.com>", text="hi", html="<p>hi</p>", sent_at=datetime.now(UTC))
    mailer.send(message, name="a-pending.eml")
    where = mailer.send(message, name="a-pending.eml")

    assert [path.name for path in (tmp_path / "mail").iterdir()] == ["a-pending.eml"]
    assert b"Message-ID: <" in (tmp_path / "mail" / "a-pending.eml").read_bytes()
    assert where == f"written to {tmp_path / 'mail' / 'a-pending.eml'}"


def test_a_file_name_cannot_leave_the_mail_directory() -> None:
    assert file_name("../../etc/passwd", "pending") == "______etc_passwd-pending.eml"


@pytest.mark.parametrize(
    ("reason", "told"),
    [
        ("payment declined: card_declined", "your payment was declined"),
        ("out of stock: MUG-1, KETTLE-2", "some items are no longer in stock (MUG-1, KETTLE-2)"),
        ("not settled in time", "we could not confirm payment and stock in time"),
        (None, "we could not complete it"),
        ("something new", "something new"),
    ],
)
def test_a_cancellation_is_explained_to_the_customer(reason: str | None, told: str) -> None:
    assert cancellation(reason) == told


def test_templates_are_found_whatever_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text, html = render(email_templates(), order_event(OrderPlaced, new_order_id(), [(1, 1)]), "Storefront")
    assert "We received your order" in text and "We received your order" in html
