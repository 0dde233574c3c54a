"""What the account's people and the vendor's systems are told (SPEC 8), as data.

Every billing fact that someone must hear of becomes :class:`Notification` records: one
``email`` to the account's billing recipients (its contacts and active members with
``manage_billing`` who have an address; none when there is nobody) and one ``webhook`` to the
vendor's endpoints (none when there are none). Emails go out for invoices issued, reminders,
failed payments, credit alerts and the account's suspension, cancellation or deletion by
dunning; webhooks for the same and for every invoice state change.

The engine stores these in its outbox, in the transaction that made the fact true; a
simulation lists them. Both order them by :func:`order_key`, so they list the same thing in
the same order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from seatwise.core.account import Account
from seatwise.core.seat_timeline import SeatTimeline

EMAIL = "email"
WEBHOOK = "webhook"

# kind → the webhook's event type (Standard Webhooks `type`); kinds without an email below
WEBHOOK_TYPES = {
    "invoice_issued": "invoice.issued",
    "payment_failed": "invoice.payment_failed",
    "invoice_paid": "invoice.paid",
    "invoice_void": "invoice.voided",
    "invoice_uncollectible": "invoice.uncollectible",
    "account_suspended": "account.suspended",
    "account_cancelled": "account.cancelled",
    "account_deleted": "account.deleted",
    "account_purged": "account.purged",
    "reminder": "invoice.reminder",
    "credit_alert": "credits.alert",
}
EMAIL_KINDS = (  # each has its templates in collect/templates
    "invoice_issued",
    "reminder",
    "payment_failed",
    "credit_alert",
    "account_suspended",
    "account_cancelled",
    "account_deleted",
)
_RANK = {kind: rank for rank, kind in enumerate(WEBHOOK_TYPES)}


@dataclass(frozen=True, slots=True)
class Notification:
    """One message: at ``at``, of ``kind``, by ``channel`` to ``to`` (addresses or endpoint
    URLs), about ``invoice`` (None for credit alerts), with the kind's ``details``."""

    at: datetime
    kind: str
    channel: str
    to: tuple[str, ...]
    invoice: str | None
    details: Mapping[str, Any] = field(default_factory=dict)


def order_key(notification: Notification) -> tuple[datetime, int, str, int, tuple[str, ...]]:
    """Time first; at one instant, an invoice's issue before its charge's outcome, before the
    account's closing, before reminders and alerts; then by invoice; email before webhooks,
    webhooks in the endpoints' order."""
    return (
        notification.at,
        _RANK[notification.kind],
        notification.invoice or "",
        0 if notification.channel == EMAIL else 1,
        notification.to,
    )


def notify(
    account: Account,
    seats: SeatTimeline,
    endpoints: Sequence[str],
    at: datetime,
    kind: str,
    invoice: str | None,
    **details: Any,
) -> list[Notification]:
    """The email (if ``kind`` has one and there are recipients) and one webhook per endpoint
    for one fact."""
    out = []
    if kind in EMAIL_KINDS:
        recipients = account.billing_recipients(seats, at)
        if recipients:
            out.append(Notification(at, kind, EMAIL, recipients, invoice, details))
    out.extend(Notification(at, kind, WEBHOOK, (url,), invoice, details) for url in endpoints)
    return out
