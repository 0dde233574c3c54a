"""An invoice's life (SPEC 6): ``draft`` → ``open`` → ``paid`` | ``void`` | ``uncollectible``.

* ``draft``: computed, not yet issued. No number; recomputed from the timeline on every billing
  run until it is finalized, so a draft always says what the timeline says.
* ``open``: finalized — numbered and immutable — and waiting for payment.
* ``paid``: settled, by a payment or by credit notes covering all of it. Final.
* ``void``: cancelled because it was issued in error; nothing is owed. Final.
* ``uncollectible``: written off as a bad debt; it may still be paid, or voided, later.

A finalized invoice is never edited: a correction is a credit note (:func:`credit_note_effect`).
"""

from __future__ import annotations

from dataclasses import dataclass

from seatwise.core.errors import SeatwiseError
from seatwise.core.money import Currency

DRAFT, OPEN, PAID, VOID, UNCOLLECTIBLE = "draft", "open", "paid", "void", "uncollectible"
STATUSES = (DRAFT, OPEN, PAID, VOID, UNCOLLECTIBLE)

# status -> the statuses it may move to
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({OPEN}),
    OPEN: frozenset({PAID, VOID, UNCOLLECTIBLE}),
    UNCOLLECTIBLE: frozenset({PAID, VOID}),
    PAID: frozenset(),
    VOID: frozenset(),
}
CREDITABLE = frozenset({OPEN, PAID, UNCOLLECTIBLE})


class InvoiceStateError(SeatwiseError):
    """An invoice cannot do this in its current status."""


def check_transition(number: str, current: str, new: str) -> None:
    if new not in TRANSITIONS.get(current, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, frozenset()))) or "nothing"
        raise InvoiceStateError(
            f"invoice {number} is {current}: it cannot become {new} (a {current} invoice "
            f"can become: {allowed})"
        )


@dataclass(frozen=True, slots=True)
class CreditNoteEffect:
    """What a credit note of ``amount`` does: ``to_balance`` goes to the account's credit
    balance (the invoice was already paid), ``status`` is the invoice's status afterwards."""

    to_balance: int
    status: str


def credit_note_effect(
    number: str, status: str, total: int, credited: int, amount: int, cur: Currency
) -> CreditNoteEffect:
    """Check a credit note of ``amount`` against an invoice of ``total`` of which ``credited``
    is already credited, and say what it does. An unpaid invoice owes that much less (and is
    ``paid`` once nothing is left); a paid one gives the amount back as account credit."""
    if status not in CREDITABLE:
        raise InvoiceStateError(
            f"invoice {number} is {status}: only an open, paid or uncollectible invoice can "
            "be credited"
        )
    if amount <= 0:
        raise InvoiceStateError("a credit note's amount must be positive")
    left = total - credited
    if amount > left:
        raise InvoiceStateError(
            f"invoice {number} has {cur.display(left)} left to credit: "
            f"{cur.display(amount)} is too much"
        )
    if status == PAID:
        return CreditNoteEffect(amount, PAID)
    return CreditNoteEffect(0, PAID if amount == left else status)
