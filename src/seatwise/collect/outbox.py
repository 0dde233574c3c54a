"""The outbox worker: delivers queued emails and webhooks, with retries and a delivery log.

Billing queues every message in the ``outbox`` table in the transaction that made its fact
true (an invoice issued, a charge declined…): if that transaction commits, the message exists;
if it rolls back, it never did. The worker then, in short transactions of its own:

1. **claims** due messages by giving them a lease (``locked_until``) — on PostgreSQL with
   ``FOR UPDATE SKIP LOCKED``, so several workers never take the same message;
2. **delivers** each one outside any transaction (SMTP, or an HTTP POST signed per Standard
   Webhooks);
3. **records** the attempt in ``deliveries`` and moves the message on: delivered; retried after
   the next delay of :data:`~seatwise.collect.webhooks.RETRY_DELAYS` (5 s, 5 min, 30 min, 2 h,
   5 h, 10 h); or failed after the last.

A worker killed between 1 and 3 loses nothing: its lease runs out (:data:`LEASE`) and the
message is delivered by the next worker — at least once, with the same ``webhook-id``, so a
receiver drops the duplicate. Emails wait in the outbox while no SMTP server is configured.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from seatwise.collect.email import EmailError, SmtpMailer, compose
from seatwise.collect.webhooks import (
    RETRY_DELAYS,
    Delivery,
    WebhookEvent,
    attempt,
    post,
)
from seatwise.collect.webhooks import Endpoint as WebhookEndpoint
from seatwise.core.notifications import WEBHOOK_TYPES
from seatwise.engine.clock import Clock
from seatwise.store import outbox_repository as outbox_store
from seatwise.store.database import write_transaction
from seatwise.store.outbox_repository import OutboxRow

LOG = logging.getLogger("seatwise.outbox")
LEASE = timedelta(minutes=5)
BATCH = 10  # messages claimed at once: a worker that dies holds few of them for a lease


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # no longer to be sent: a reminder of an invoice paid since, …


def vendor_name(env: Mapping[str, str] = os.environ) -> str:
    """How emails name the vendor: ``SEATWISE_VENDOR_NAME``."""
    return env.get("SEATWISE_VENDOR_NAME", "Seatwise")


def deliver_due(
    engine: Engine,
    clock: Clock,
    mailer: SmtpMailer | None,
    send: Callable[[str, bytes, Mapping[str, str]], int] = post,
    vendor: str = "Seatwise",
    limit: int = BATCH,
) -> DeliveryReport:
    """Deliver every message due now, batch after batch, until none is left; emails only with
    a ``mailer``. Messages that fail are left for their retry instant."""
    channels = ("email", "webhook") if mailer is not None else ("webhook",)
    delivered = retrying = failed = skipped = 0
    with engine.connect() as connection:
        secrets = {e.id: e for e in outbox_store.endpoints(connection, active_only=True)}
    while True:
        now = clock.now()
        with write_transaction(engine) as connection:
            rows = outbox_store.claim(connection, now, now + LEASE, limit, channels)
        if not rows:
            return DeliveryReport(delivered, retrying, failed, skipped)
        for row in rows:
            at = clock.now()
            why_not = _not_to_send(engine, row, secrets)
            if why_not is not None:
                with write_transaction(engine) as connection:
                    outbox_store.skip_delivery(connection, row, at, why_not)
                skipped += 1
                continue
            try:
                if row.message.channel == "email":
                    assert mailer is not None
                    ok, detail = _email(row, mailer, vendor, at, _attachments(engine, row))
                else:
                    ok, detail = _webhook(row, secrets, at, send)
            except Exception as error:  # any failure of one delivery is that delivery's
                ok, detail = False, f"{type(error).__name__}: {error}"
            retry_at = None
            if not ok and row.attempts + 1 < len(RETRY_DELAYS):
                retry_at = at + RETRY_DELAYS[row.attempts + 1]
            with write_transaction(engine) as connection:
                readable = " ".join(detail.split())[:2000]  # one line, whatever the peer sent
                outbox_store.record_delivery(connection, row, at, ok, readable, retry_at)
            delivered += ok
            retrying += not ok and retry_at is not None
            failed += not ok and retry_at is None


def _not_to_send(
    engine: Engine, row: OutboxRow, endpoints: Mapping[int, outbox_store.Endpoint]
) -> str | None:
    """Why a message is no longer to be sent: a reminder of an invoice paid or voided since it
    was queued, or a webhook to an endpoint removed since."""
    message = row.message
    if message.channel == "webhook" and int(message.payload["endpoint"]) not in endpoints:
        return "the webhook endpoint was removed"
    if message.kind == "reminder" and message.invoice is not None:
        with engine.connect() as connection:
            status = outbox_store.invoice_status(connection, message.invoice)
        if status in ("paid", "void"):
            return f"{message.invoice} is {status}: the reminder is not sent"
    return None


def _attachments(engine: Engine, row: OutboxRow) -> list[tuple[str, str, bytes]]:
    """An issued invoice's email carries its PDF. If the PDF cannot be made, the email goes
    without it (saying the invoice is on the billing page) rather than not at all."""
    message = row.message
    if message.kind != "invoice_issued" or message.invoice is None:
        return []
    from seatwise.documents.pdf import invoice_pdf  # Typst loads only where PDFs are made

    try:
        return [(f"{message.invoice}.pdf", "application/pdf", invoice_pdf(engine, message.invoice))]
    except Exception as error:  # the mail still informs; the log says why it has no PDF
        LOG.warning("no PDF attached to %s: %s", message.invoice, error, exc_info=error)
        return []


def _email(
    row: OutboxRow,
    mailer: SmtpMailer,
    vendor: str,
    at: datetime,
    attachments: list[tuple[str, str, bytes]],
) -> tuple[bool, str]:
    message = row.message
    try:
        mail = compose(
            message.kind,
            {**message.payload["facts"], "vendor": vendor, "attached": bool(attachments)},
            message.recipients,
            mailer.settings.sender,
            attachments=attachments,
            sent_at=at,
        )
        mailer.send(mail)
    except EmailError as error:
        return False, str(error)
    return True, f"sent to {', '.join(message.recipients)}"


def webhook_event(row: OutboxRow) -> WebhookEvent:
    """The Standard Webhooks event of a queued message; its id is the message's, so a second
    delivery of it carries the same ``webhook-id``."""
    message = row.message
    data = message.payload.get("data")
    if data is None:  # queued before webhooks carried data (schema 0004): what it had
        data = {"account": message.account_id, "invoice": message.invoice}
        data.update(message.payload.get("facts", {}))
    return WebhookEvent(f"msg_{row.id}", WEBHOOK_TYPES[message.kind], message.at, data)


def _webhook(
    row: OutboxRow,
    endpoints: Mapping[int, outbox_store.Endpoint],
    at: datetime,
    send: Callable[[str, bytes, Mapping[str, str]], int],
) -> tuple[bool, str]:
    endpoint = endpoints[int(row.message.payload["endpoint"])]
    delivery = Delivery(webhook_event(row), WebhookEndpoint(endpoint.url, endpoint.secret))
    result = attempt(delivery, at, send)
    if result.delivered:
        return True, f"HTTP {result.status} from {endpoint.url}"
    return False, f"{result.error} from {endpoint.url}"
