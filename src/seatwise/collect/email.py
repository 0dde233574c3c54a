"""Billing emails over SMTP (SPEC 8): composed from Jinja2 templates, plain text and HTML.

Each kind of message has two templates in ``collect/templates``: ``KIND.txt.j2`` and
``KIND.html.j2``; the first line of the text template is ``Subject: …``. Recipients are the
account's billing contacts and members with ``manage_billing`` (decided by the caller,
:meth:`seatwise.core.account.Account.billing_recipients`). The SMTP server is configured by
:class:`SmtpSettings`, from the environment with :meth:`SmtpSettings.from_environment`.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, UndefinedError, select_autoescape

from seatwise.core.errors import SeatwiseError
from seatwise.core.notifications import EMAIL_KINDS

KINDS = EMAIL_KINDS
SECURITY = ("none", "starttls", "tls")


class EmailError(SeatwiseError):
    """A message that cannot be composed or sent, or SMTP settings that cannot work."""


class SmtpNotConfigured(EmailError):
    """No SMTP server is configured: emails wait in the outbox."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send. ``security``: ``none``, ``starttls`` or ``tls`` (implicit TLS,
    usually port 465). ``username`` and ``password``: when the server wants a login."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "billing@localhost"
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.security not in SECURITY:
            raise EmailError(
                f"SEATWISE_SMTP_SECURITY: {self.security!r} is not {', '.join(SECURITY)}"
            )

    @staticmethod
    def from_environment(env: Mapping[str, str] = os.environ) -> SmtpSettings:
        """``SEATWISE_SMTP_HOST`` (required), ``_PORT``, ``_SECURITY``, ``_USERNAME``,
        ``_PASSWORD``, ``_SENDER``."""
        host = env.get("SEATWISE_SMTP_HOST")
        if not host:
            raise SmtpNotConfigured("SEATWISE_SMTP_HOST: no SMTP server configured")
        port_text = env.get("SEATWISE_SMTP_PORT", "587")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise EmailError(f"SEATWISE_SMTP_PORT: {port_text!r} is not a port number")
        return SmtpSettings(
            host=host,
            port=int(port_text),
            security=env.get("SEATWISE_SMTP_SECURITY", "starttls"),
            username=env.get("SEATWISE_SMTP_USERNAME") or None,
            password=env.get("SEATWISE_SMTP_PASSWORD") or None,
            sender=_sender(env.get("SEATWISE_SMTP_SENDER", "billing@localhost")),
        )


def _sender(address: str) -> str:
    """The From address: a mailbox (``billing@localhost`` is one; no display name)."""
    local, at, domain = address.partition("@")
    if not (local and at and domain) or any(c.isspace() or c in "<>,;" for c in address):
        raise EmailError(f"SEATWISE_SMTP_SENDER: {address!r} is not an email address")
    return address


_TEMPLATES = Environment(
    loader=PackageLoader("seatwise.collect", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=StrictUndefined,  # a missing value is an error, never an empty gap in a mail
    keep_trailing_newline=True,
)


def compose(
    kind: str,
    context: Mapping[str, Any],
    recipients: Sequence[str],
    sender: str,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    sent_at: datetime | None = None,
) -> EmailMessage:
    """The message of ``kind`` for ``recipients``: text and HTML alternatives, and
    ``attachments`` as (file name, MIME type, bytes), such as an invoice's PDF; dated
    ``sent_at`` (default: now)."""
    if kind not in KINDS:
        raise EmailError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if not recipients:
        raise EmailError(f"{kind}: nobody to send it to")
    try:
        text = _TEMPLATES.get_template(f"{kind}.txt.j2").render(context)
        html = _TEMPLATES.get_template(f"{kind}.html.j2").render(context)
    except UndefinedError as error:
        raise EmailError(f"{kind}: a value the template needs is missing: {error}") from None
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise EmailError(f"{kind}.txt.j2: the first line must be 'Subject: …'")
    message = EmailMessage()
    message["Subject"] = first.removeprefix("Subject: ").strip()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(sent_at or datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body.lstrip("\n"))
    message.add_alternative(html, subtype="html")
    for name, mime, data in attachments:
        main, _, sub = mime.partition("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return message


class SmtpMailer:
    """Sends composed messages through the configured SMTP server."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            if s.security == "tls":
                context = ssl.create_default_context()
                with smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context) as smtp:
                    self._deliver(smtp, message)
                return
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                self._deliver(smtp, message)
        except (OSError, smtplib.SMTPException) as error:
            raise EmailError(f"SMTP {s.host}:{s.port}: {error}") from error

    def _deliver(self, smtp: smtplib.SMTP, message: EmailMessage) -> None:
        if self.settings.username:
            smtp.login(self.settings.username, self.settings.password or "")
        smtp.send_message(message)
