"""What goes into the outbox for a notification: an email's template values, or a webhook's
data (SPEC 8).

An **email** is composed at delivery from ``facts``: values as a person reads them
(``€540.00``, ``4 Feb 2026``). A **webhook** carries ``data``: the facts of its kind as data
a program reads — ids, the invoice's number, kind, status and currency, amounts as decimal
strings and in minor units, instants in ISO 8601 — with the human text in ``description``.
Each webhook message names the endpoint it goes to by id, so two endpoints never share a
secret. The README documents every ``type``'s data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from seatwise.core.account import RETENTION_DAYS, TERMINATIONS
from seatwise.core.credit_billing import CreditAlert
from seatwise.core.dunning import invoice_collection
from seatwise.core.invoice_states import OPEN, PAID
from seatwise.core.invoicing import Invoice
from seatwise.core.money import Currency
from seatwise.core.notifications import WEBHOOK, Notification, notify
from seatwise.core.payments import purchases_collection
from seatwise.core.periods import add_days, format_day, iso
from seatwise.core.seat_timeline import MemberChange, SeatTimeline
from seatwise.store import outbox_repository as outbox_store
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.outbox_repository import Endpoint, Message
from seatwise.store.repository import StoredAccount, StoredInvoice

# the status an invoice has in the fact each kind tells (issued: open, or paid if nothing due)
FACT_STATUS = {
    "payment_failed": OPEN,
    "reminder": OPEN,
    "invoice_paid": PAID,
    "invoice_void": "void",
    "invoice_uncollectible": "uncollectible",
}


def money(cur: Currency, minor: int) -> dict[str, Any]:
    """An amount as webhooks carry it."""
    return {"amount": cur.format(minor), "amount_minor": minor}


def invoice_data(
    cur: Currency, number: str, invoice: Invoice, status: str, amount_due: int
) -> dict[str, Any]:
    return {
        "number": number,
        "kind": invoice.kind,
        "status": status,
        "currency": cur.code,
        "total": cur.format(invoice.total),
        "total_minor": invoice.total,
        "amount_due": cur.format(amount_due),
        "amount_due_minor": amount_due,
        "issued_at": iso(invoice.issued_at),
        "due_at": iso(invoice.due_at),
        "period_start": iso(invoice.period.start),
        "period_end": iso(invoice.period.end),
    }


def webhook_data(
    stored: StoredAccount,
    note: Notification,
    invoice: Invoice | None,
    amount_due: int | None,
) -> dict[str, Any]:
    """The ``data`` of the webhook telling ``note``: the facts of its kind, as data."""
    cur, kind = stored.plan.currency, note.kind
    data: dict[str, Any] = {"account": stored.id, "at": iso(note.at)}
    words = ""
    if invoice is not None and note.invoice is not None:
        status = FACT_STATUS.get(kind, PAID if invoice.total <= 0 else OPEN)
        due = amount_due if amount_due is not None else (0 if status != OPEN else invoice.total)
        data["invoice"] = invoice_data(cur, note.invoice, invoice, status, due)
        what = f"invoice {note.invoice} ({invoice.kind}, {cur.display(invoice.total)})"
        words = {
            "invoice_issued": f"{what} issued, due {iso(invoice.due_at)}",
            "payment_failed": f"a charge of {what} failed",
            "invoice_paid": f"{what} paid",
            "invoice_void": f"{what} voided",
            "invoice_uncollectible": f"{what} marked uncollectible",
            "reminder": f"{what} is due in {note.details.get('days_before')} day(s), unpaid",
        }.get(kind, "")
    if kind == "payment_failed":
        data.update(attempt=note.details["attempt"], reason=note.details["reason"])
        data["next_attempt_at"] = _next_attempt(stored, note)
    elif kind == "reminder":
        data["days_before"] = note.details["days_before"]
    elif kind == "credit_alert":
        balance, assigned = note.details["balance"], note.details["assigned"]
        data["credits"] = {"balance": balance, "assigned": assigned}
        words = f"{assigned} credit(s) assigned, more than the balance of {balance}"
    elif kind in ("account_suspended", "account_cancelled", "account_deleted"):
        status = kind.removeprefix("account_")
        data["status"] = status
        words = f"account {stored.id} {status}: invoice {note.invoice} was not paid"
        if kind == "account_deleted":
            data["purge_at"] = iso(note.at + timedelta(days=RETENTION_DAYS))
    elif kind == "account_purged":
        words = f"the personal data of account {stored.id} was removed"
    data["description"] = words[:1].upper() + words[1:] + "." if words else kind
    return data


def _next_attempt(stored: StoredAccount, note: Notification) -> str | None:
    dunning = stored.plan.dunning
    if int(note.details["attempt"]) >= dunning.max_attempts:
        return None
    return iso(add_days(note.at, dunning.retry_after_days, stored.account.timezone))


def email_facts(
    stored: StoredAccount, note: Notification, invoice: Invoice | None
) -> dict[str, Any]:
    """The values an email's templates read, as a person reads them."""
    cur, tz = stored.plan.currency, stored.account.timezone
    facts: dict[str, Any] = {"account": stored.id, "at": format_day(note.at, tz)}
    if invoice is not None and note.invoice is not None:
        due = format_day(invoice.due_at, tz)
        if invoice.total <= 0:
            payment_note = "Nothing is due on it."
        elif _charged(stored, invoice):
            payment_note = "It is charged to your payment method on file."
        else:
            payment_note = f"Please pay it by {due}."
        facts.update(
            number=note.invoice,
            kind=invoice.kind,
            total=cur.display(invoice.total),
            due=due,
            lines=[
                {"description": line.description, "amount": cur.display(line.amount)}
                for line in invoice.lines
            ],
            payment_note=payment_note,
        )
    if note.kind == "payment_failed":
        facts.update(dunning_words(stored, note))
    if note.kind == "account_deleted":
        facts["purge_on"] = format_day(note.at + timedelta(days=RETENTION_DAYS), tz)
    if note.kind == "credit_alert" and stored.plan.credits is not None:
        facts["unit_price"] = cur.display(stored.plan.credits.unit_price)
    return {**facts, **note.details}


def _charged(stored: StoredAccount, invoice: Invoice) -> bool:
    purchases = purchases_collection(stored.events)
    how = invoice_collection(stored.plan, invoice.kind, invoice.period.start, purchases)
    return how == "charge_automatically"


def dunning_words(stored: StoredAccount, note: Notification) -> dict[str, str]:
    """What a failed-payment email says comes next."""
    dunning, tz = stored.plan.dunning, stored.account.timezone
    attempt = int(note.details["attempt"])
    retry = ""
    if attempt < dunning.max_attempts:
        retry = format_day(note.at + timedelta(days=dunning.retry_after_days), tz)
    return {
        "next_attempt": retry,
        "consequence": (
            f"If it is still unpaid {dunning.grace_days} day(s) after the first failed "
            f"charge, the account will be {TERMINATIONS[dunning.final_action]}."
        ),
    }


def messages(
    stored: StoredAccount,
    endpoints: Sequence[Endpoint],
    notes: Sequence[Notification],
    invoice: Invoice | None,
    amount_due: int | None = None,
) -> list[Message]:
    """The outbox messages of one fact's notifications (made by
    :func:`~seatwise.core.notifications.notify` with ``endpoints``' URLs, in their order): each
    webhook paired with its own endpoint."""
    webhooks = iter(endpoints)
    out = []
    for note in notes:
        payload: dict[str, Any] = {"details": dict(note.details)}
        if note.channel == WEBHOOK:
            payload["endpoint"] = next(webhooks).id
            payload["data"] = webhook_data(stored, note, invoice, amount_due)
        else:
            payload["facts"] = email_facts(stored, note, invoice)
        out.append(
            Message(stored.id, note.at, note.kind, note.channel, note.to, note.invoice, payload)
        )
    return out


def tell(
    stored: StoredAccount,
    seats: SeatTimeline,
    endpoints: Sequence[Endpoint],
    at: datetime,
    kind: str,
    number: str | None,
    invoice: Invoice | None,
    amount_due: int | None = None,
    **details: Any,
) -> list[Message]:
    """The messages telling one fact, or none when the account is not told of it (the
    imported past)."""
    if not stored.tells(at):
        return []
    urls = [endpoint.url for endpoint in endpoints]
    notes = notify(stored.account, seats, urls, at, kind, number, **details)
    return messages(stored, endpoints, notes, invoice, amount_due)


def tell_credit_alert(connection: Connection, account_id: str, alert: CreditAlert) -> None:
    """Queue a credit alert as it happens (recording an assignment), in the caller's
    transaction; billing runs queue only the alerts not told yet."""
    stored = repository.load_account(connection, account_id)
    seats = SeatTimeline(e for e in stored.events if isinstance(e, MemberChange))
    told = tell(
        stored, seats, outbox_store.endpoints(connection), alert.at, "credit_alert", None, None,
        balance=alert.balance, assigned=alert.assigned,
    )  # fmt: skip
    outbox_store.enqueue(connection, told, alert.at)


def state_change(
    connection: Connection, invoice: StoredInvoice, kind: str, at: datetime, now: datetime
) -> None:
    """Queue the webhooks of an invoice state change made by hand (paid, void,
    uncollectible), in the caller's transaction."""
    endpoints = outbox_store.endpoints(connection)
    if not endpoints:
        return
    stored = repository.load_account(connection, invoice.account_id)
    assert invoice.number is not None
    owed = 0
    if kind == "invoice_uncollectible":  # written off, still owed
        owed = invoice.invoice.total - payments.credited(connection, [invoice.id]).get(
            invoice.id, 0
        )
    notes = [
        Notification(at, kind, WEBHOOK, (endpoint.url,), invoice.number) for endpoint in endpoints
    ]
    outbox_store.enqueue(connection, messages(stored, endpoints, notes, invoice.invoice, owed), now)
