"""Moving finalized invoices through their life, and crediting them (SPEC 6).

Every operation runs in one transaction that locks the invoice's account first, checks the
move with :mod:`seatwise.core.invoice_states`, records it in the invoice's status history and
commits; a refused operation changes nothing. The invoice itself — its lines and total — is
never edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from seatwise.core.dunning import (
    BY_HAND,
    ManualPayment,
    PaymentError,
    Receivable,
    record_by_hand,
)
from seatwise.core.errors import SeatwiseError
from seatwise.core.invoice_states import (
    PAID,
    UNCOLLECTIBLE,
    VOID,
    check_transition,
    credit_note_effect,
)
from seatwise.core.limits import check_instant, check_text
from seatwise.core.money import currency
from seatwise.core.periods import iso
from seatwise.engine.batch import RECEIPT_PREFIX
from seatwise.engine.clock import Clock, SystemClock
from seatwise.engine.credits import credits_paid
from seatwise.engine.messages import state_change
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.database import write_transaction
from seatwise.store.repository import CREDIT_NOTE_PREFIX, StoredInvoice

PAID_BY_HAND = "payment recorded by hand"


class LifecycleRefused(SeatwiseError):
    """A change of an invoice that cannot be made at that instant; nothing was stored."""


def _locked_invoice(connection: Connection, number: str) -> StoredInvoice:
    repository.lock_account(connection, repository.invoice_account_id(connection, number))
    return repository.find_invoice(connection, number)  # as it is now that we hold the lock


def check_moment(
    connection: Connection, invoice: StoredInvoice, at: datetime, now: datetime
) -> None:
    """A change of an invoice happens at an instant that has happened, not before the
    invoice was issued, and not before its last change (its history reads in time order)."""
    check_instant(at, "at")
    if at > now:
        raise LifecycleRefused(f"at: {iso(at)} is in the future (now is {iso(now)})")
    if at < invoice.invoice.issued_at:
        raise LifecycleRefused(
            f"at: {iso(at)} is before {invoice.number} was issued "
            f"({iso(invoice.invoice.issued_at)})"
        )
    history = repository.status_history(connection, invoice.id)
    if history and at < history[-1].at:
        raise LifecycleRefused(
            f"at: {iso(at)} is before {invoice.number}'s last change "
            f"({history[-1].to_status} on {iso(history[-1].at)})"
        )


def amount_due(connection: Connection, invoice: StoredInvoice) -> int:
    """What is still to pay on an unpaid invoice: its total less its credit notes."""
    credited = sum(note.amount for note in repository.credit_notes_of(connection, invoice.id))
    return invoice.invoice.total - credited


def move(
    connection: Connection,
    invoice: StoredInvoice,
    new: str,
    at: datetime,
    reason: str,
    amount: int | None = None,
) -> None:
    """Move a locked invoice to ``new`` at ``at`` (checked), with everything that follows:
    a payment's receipt and credits, the webhooks, a voided invoice's credit back."""
    number = invoice.number or ""
    check_text(reason, "reason")
    if new == PAID:
        due = amount_due(connection, invoice)
        made = [stored.attempt for stored in payments.attempts_of_invoice(connection, number)]
        receivable = Receivable(number, invoice.invoice.issued_at, invoice.invoice.due_at, due)
        try:  # the rule of payments by hand (core/dunning): whole amount, once
            record_by_hand(
                ManualPayment(at, number, amount),
                [receivable],
                made,
                currency(invoice.currency_code),
            )
        except PaymentError as error:
            raise LifecycleRefused(error.reason) from None
    check_transition(number, invoice.status, new)
    repository.change_status(connection, invoice.id, invoice.status, new, at, reason)
    if new == PAID:
        _record_payment(connection, invoice, at, reason)
    if new == PAID and invoice.invoice.kind == "credits":
        credits_paid(connection, invoice, at)  # the credits bought reach the wallet
    state_change(connection, invoice, _KINDS[new], at, at)
    if new == VOID:
        # Credit the voided invoice took from the account's balance goes back to it.
        used = -sum(
            line.amount
            for line in invoice.invoice.lines
            if line.kind == "balance_applied" and line.amount < 0
        )
        if used:
            repository.add_to_credit_balance(connection, invoice.account_id, used)


def _move(
    engine: Engine,
    number: str,
    new: str,
    at: datetime,
    reason: str,
    clock: Clock | None,
    amount: int | None = None,
) -> StoredInvoice:
    now = (clock or SystemClock()).now()
    with write_transaction(engine) as connection:
        invoice = _locked_invoice(connection, number)
        check_moment(connection, invoice, at, now)
        move(connection, invoice, new, at, reason, amount)
    return invoice


_KINDS = {PAID: "invoice_paid", VOID: "invoice_void", UNCOLLECTIBLE: "invoice_uncollectible"}


def _record_payment(connection: Connection, invoice: StoredInvoice, at: datetime, how: str) -> None:
    """A payment made outside the gateway is recorded like a charge that succeeded, with a
    receipt."""
    assert invoice.number is not None
    made = payments.attempts_of_invoice(connection, invoice.number)
    (receipt,) = repository.next_numbers(connection, RECEIPT_PREFIX, 1)
    payments.insert_attempts(
        connection,
        [
            (
                invoice.account_id,
                invoice.number,
                len(made) + 1,
                at,
                BY_HAND,
                amount_due(connection, invoice),
                True,
                how,
                "",
                receipt,
                at,
            )
        ],
    )


def mark_paid(
    engine: Engine,
    number: str,
    at: datetime,
    reason: str = PAID_BY_HAND,
    clock: Clock | None = None,
    amount: int | None = None,
) -> None:
    """Record that an open (or uncollectible) invoice was paid outside the gateway, at
    ``at`` (not in the future, not before its issue); ``amount``, when given, must be the
    amount due (a payment is of the whole amount)."""
    _move(engine, number, PAID, at, reason, clock, amount)


def void(
    engine: Engine, number: str, at: datetime, reason: str, clock: Clock | None = None
) -> None:
    """Cancel an invoice issued in error: nothing is owed on it. The billing engine counts its
    charges as billed, so it does not bill them again; to bill differently, record the events
    that were missing and the difference arrives as an adjustment."""
    _move(engine, number, VOID, at, reason, clock)


def mark_uncollectible(
    engine: Engine, number: str, at: datetime, reason: str, clock: Clock | None = None
) -> None:
    """Write an invoice off as a bad debt; it may still be paid or voided later."""
    _move(engine, number, UNCOLLECTIBLE, at, reason, clock)


@dataclass(frozen=True)
class CreditNoteIssued:
    number: str
    invoice: str
    amount: int
    to_balance: int
    invoice_status: str


def issue_credit_note(
    engine: Engine,
    number: str,
    amount: int,
    reason: str,
    at: datetime,
    clock: Clock | None = None,
) -> CreditNoteIssued:
    """Credit ``amount`` (minor units) of invoice ``number``: an unpaid invoice then owes that
    much less (and is paid once nothing is left); a paid one gives it back as account credit,
    used first by the next invoices. ``at``: not in the future, not before the invoice."""
    check_text(reason, "reason")
    now = (clock or SystemClock()).now()
    with write_transaction(engine) as connection:
        invoice = _locked_invoice(connection, number)
        check_moment(connection, invoice, at, now)
        cur = currency(invoice.currency_code)
        credited = sum(note.amount for note in repository.credit_notes_of(connection, invoice.id))
        effect = credit_note_effect(
            number, invoice.status, invoice.invoice.total, credited, amount, cur
        )
        (note_number,) = repository.next_numbers(connection, CREDIT_NOTE_PREFIX, 1)
        repository.insert_credit_note(connection, invoice.id, note_number, amount, reason, at)
        if effect.to_balance:
            repository.add_to_credit_balance(connection, invoice.account_id, effect.to_balance)
        if effect.status != invoice.status:
            repository.change_status(
                connection,
                invoice.id,
                invoice.status,
                effect.status,
                at,
                f"settled by credit note {note_number}",
            )
            state_change(connection, invoice, _KINDS[effect.status], at, at)
    return CreditNoteIssued(note_number, number, amount, effect.to_balance, effect.status)
