"""Invoices and their lines (SPEC section 6), and the credit-balance rule.

An invoice's total is the sum of its lines and never negative. When the other lines sum to a
net credit, a ``balance_applied`` line of the opposite amount brings the total to zero and the
credit goes to the account's balance; later invoices use that balance first, each by a
negative ``balance_applied`` line no larger than what the invoice would otherwise cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from operator import attrgetter

from seatwise.core.money import Currency
from seatwise.core.periods import Period
from seatwise.core.records import quick_init
from seatwise.core.seat_timeline import MemberChange

INVOICE_KINDS = ("initial", "renewal", "arrears", "interim", "statement", "credits", "final")
LINE_KINDS = (
    "seats",
    "remaining_time",
    "unused_time",
    "additional_seats",
    "credits_purchase",
    "credits_overage",
    "balance_applied",
    "adjustment",
    "info",
)


@quick_init
@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a line exists: in words, and the members and member changes that produced it."""

    summary: str
    members: tuple[str, ...] = ()
    changes: tuple[MemberChange, ...] = ()


@quick_init
@dataclass(frozen=True, slots=True)
class Line:
    """One invoice line. ``amount`` is in minor units, rounded once when the line was made."""

    kind: str
    description: str
    quantity: int
    unit_price: int | None
    amount: int
    period: Period
    explanation: Explanation
    corrects: str | None = None  # an ``adjustment`` line: the number of the invoice it corrects

    @staticmethod
    def of_amount(
        kind: str,
        description: str,
        amount: int,
        period: Period,
        why: str,
        corrects: str | None = None,
    ) -> Line:
        """A line for one amount of money (1 × the amount), such as ``balance_applied``."""
        return Line(kind, description, 1, amount, amount, period, Explanation(why), corrects)


@quick_init
@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice as the billing core proposes it: no number or payment status yet."""

    kind: str
    issued_at: datetime
    due_at: datetime
    period: Period
    lines: tuple[Line, ...]

    @property
    def total(self) -> int:
        return sum(map(_amount, self.lines))  # asked often: no generator

    @property
    def key(self) -> tuple[str, datetime, datetime]:
        """What makes an invoice unique for its account: kind and period."""
        return (self.kind, self.period.start, self.period.end)


def lines_total(lines: Sequence[Line]) -> int:
    return sum(map(_amount, lines))


_amount = attrgetter("amount")


def billable_total(invoice: Invoice) -> int:
    """What the invoice charges for seats and usage: its total without the lines that move
    money between invoices (``balance_applied``, ``adjustment``)."""
    return sum(
        line.amount for line in invoice.lines if line.kind not in ("balance_applied", "adjustment")
    )


def settle(
    invoices: Sequence[Invoice], opening_balance: int, cur: Currency
) -> tuple[tuple[Invoice, ...], int]:
    """Apply the credit balance to invoices in the order they are issued (SPEC 6), starting
    from ``opening_balance``; returns the settled invoices and the closing balance."""
    balance = opening_balance
    settled = []
    for invoice in invoices:
        done, balance = settle_one(invoice, balance, cur)
        settled.append(done)
    return tuple(settled), balance


def settle_one(invoice: Invoice, balance: int, cur: Currency) -> tuple[Invoice, int]:
    """One invoice of :func:`settle`, from the balance before it; the balance after it."""
    lines, balance = apply_credit_balance(invoice.lines, balance, invoice.period, cur)
    if lines == invoice.lines:  # nothing applied, nothing added: the invoice as it was
        return invoice, balance
    return replace(invoice, lines=lines), balance


def apply_credit_balance(
    lines: Sequence[Line], balance: int, period: Period, cur: Currency
) -> tuple[tuple[Line, ...], int]:
    """The lines with a ``balance_applied`` line where one is due, and the balance after."""
    subtotal = lines_total(lines)
    if subtotal < 0:
        credit = -subtotal
        extra = Line.of_amount(
            "balance_applied",
            f"Credit of {cur.display(credit)} added to your credit balance",
            credit,
            period,
            f"The other lines sum to a credit of {cur.display(credit)}; an invoice is never "
            f"negative, so the credit is kept on the account's balance "
            f"(now {cur.display(balance + credit)}) and used by the next invoices.",
        )
        return (*lines, extra), balance + credit
    if subtotal > 0 and balance > 0:
        used = min(balance, subtotal)
        extra = Line.of_amount(
            "balance_applied",
            f"Applied from your credit balance of {cur.display(balance)}",
            -used,
            period,
            f"The account had a credit balance of {cur.display(balance)}; "
            f"{cur.display(used)} of it pays this invoice, "
            f"{cur.display(balance - used)} remains.",
        )
        return (*lines, extra), balance - used
    return tuple(lines), balance
