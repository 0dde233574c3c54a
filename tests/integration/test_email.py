"""Billing emails through a real SMTP server on 127.0.0.1 (aiosmtpd), read back as received."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from seatwise.collect.email import EmailError, SmtpMailer, SmtpSettings, compose


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accept_billing_login(
    server: Any, session: Any, envelope: Any, mechanism: str, auth: Any
) -> AuthResult:
    ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (b"seatwise", b"s3cret")
    return AuthResult(success=ok)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=accept_billing_login,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


INVOICE = {
    "vendor": "Seatwise Demo",
    "account": "Acme",
    "number": "INV-000042",
    "lines": [
        {"description": "82 × Seat (at €108.00 / year)", "amount": "€8,856.00"},
        {"description": "Unused time on 80 × Seat after 15 Mar 2021", "amount": "−€7,977.21"},
    ],
    "total": "€878.79",
    "due": "14 Apr 2021",
    "payment_note": "It will be charged to the card on file.",
    "attached": False,
}


def test_an_invoice_email_arrives_with_text_and_html(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    message = compose(
        "invoice_issued",
        INVOICE,
        ["ap@acme.example", "admin@acme.example"],
        "billing@vendor.example",
    )
    SmtpMailer(SmtpSettings("127.0.0.1", port, security="none")).send(message)
    [(recipients, got)] = inbox.received
    assert recipients == ["ap@acme.example", "admin@acme.example"]
    assert got["Subject"] == "Invoice INV-000042 from Seatwise Demo: €878.79 due 14 Apr 2021"
    assert got["From"] == "billing@vendor.example"
    text = got.get_body(preferencelist=("plain",))
    html = got.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "Unused time on 80 × Seat after 15 Mar 2021: −€7,977.21" in text.get_content()
    assert "<strong>INV-000042</strong>" in html.get_content()


def test_login_attachment_and_html_escaping(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    settings = SmtpSettings(
        "127.0.0.1", port, security="none", username="seatwise", password="s3cret"
    )
    context = {**INVOICE, "account": "<Acme & Co>", "attached": True}
    pdf = ("INV-000042.pdf", "application/pdf", b"%PDF-1.4 test")
    message = compose(
        "invoice_issued", context, ["ap@acme.example"], "billing@vendor.example", [pdf]
    )
    SmtpMailer(settings).send(message)
    [(_, got)] = inbox.received
    html = got.get_body(preferencelist=("html",))
    assert html is not None and "&lt;Acme &amp; Co&gt;" in html.get_content()
    [attachment] = list(got.iter_attachments())
    assert attachment.get_filename() == "INV-000042.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"


def test_every_kind_has_its_templates(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    common = {"vendor": "V", "account": "Acme", "number": "INV-1", "total": "$10.00"}
    contexts = {
        "reminder": {**common, "due": "1 Mar 2025", "days_before": 7},
        "payment_failed": {
            **common,
            "reason": "card declined",
            "next_attempt": "10 Feb 2025",
            "consequence": "After 15 Feb the account is deleted.",
        },
        "credit_alert": {**common, "assigned": 12, "balance": 10, "unit_price": "$10.00"},
        "account_suspended": {**common, "at": "15 Feb 2025"},
        "account_cancelled": {**common, "at": "15 Feb 2025"},
        "account_deleted": {**common, "at": "15 Feb 2025", "purge_on": "15 Jun 2025"},
    }
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port, security="none"))
    for kind, context in contexts.items():
        mailer.send(compose(kind, context, ["ap@acme.example"], "billing@vendor.example"))
    subjects = [message["Subject"] for _, message in inbox.received]
    assert subjects == [
        "Reminder: invoice INV-1 ($10.00) is due 1 Mar 2025",
        "Payment of invoice INV-1 failed",
        "Acme: more credits assigned (12) than bought (10)",
        "Acme is suspended: invoice INV-1 is unpaid",
        "Acme is cancelled: invoice INV-1 is unpaid",
        "Acme is deleted: invoice INV-1 is unpaid",
    ]


def test_bad_settings_and_missing_values_are_clear_errors(smtp: tuple[Inbox, int]) -> None:
    _, port = smtp
    with pytest.raises(EmailError, match="SEATWISE_SMTP_HOST"):
        SmtpSettings.from_environment({})
    with pytest.raises(EmailError, match="not a port number"):
        SmtpSettings.from_environment({"SEATWISE_SMTP_HOST": "h", "SEATWISE_SMTP_PORT": "x"})
    assert SmtpSettings.from_environment({"SEATWISE_SMTP_HOST": "h"}).port == 587
    with pytest.raises(EmailError, match="SEATWISE_SMTP_SECURITY"):
        SmtpSettings("h", security="ssl3")
    with pytest.raises(EmailError, match="'number' is undefined"):  # never an empty gap
        compose("reminder", {"vendor": "V"}, ["a@b.example"], "s@v.example")
    wrong = SmtpSettings(
        "127.0.0.1", port, security="none", username="seatwise", password="no", timeout=3
    )
    with pytest.raises(EmailError, match=r"SMTP 127\.0\.0\.1"):
        SmtpMailer(wrong).send(
            compose("reminder", {**INVOICE, "days_before": 1}, ["a@b.example"], "s@v.example")
        )
