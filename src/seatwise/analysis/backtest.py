"""A stored account's real timeline re-billed under another plan, against what it was invoiced.

Pure: the engine (:mod:`seatwise.engine.backtest`) loads the account and its issued invoices,
and this module does the rest. The window is ``[start, until)``, ``until`` no later than the
account has been billed: invoices issued in it count, on both sides, by the UTC month of
their issue. Amounts are invoice totals (what the customer
was asked to pay, after any credit balance); ``seat_lines`` sums the lines that charge or
credit seats (``seats``, ``remaining_time``, ``unused_time``, ``additional_seats``), the part a
change of price moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from seatwise.core.billing import generate_invoices
from seatwise.core.errors import SeatwiseError
from seatwise.core.invoicing import Invoice
from seatwise.core.money import Currency
from seatwise.core.periods import iso
from seatwise.core.plans import Plan
from seatwise.store.repository import InvoiceSum, StoredAccount

SEAT_LINES = ("seats", "remaining_time", "unused_time", "additional_seats")


@dataclass(frozen=True, slots=True)
class Figures:
    """What one side (old: as invoiced; new: re-billed) comes to for one account."""

    total: int = 0
    seat_lines: int = 0
    invoices: int = 0
    months: dict[str, tuple[int, int]] = field(default_factory=dict)  # "YYYY-MM": amount, count


def figures(invoices: Iterable[InvoiceSum], start: datetime | None, until: datetime) -> Figures:
    """One side's figures from its invoices issued in ``[start, until)``."""
    total = seats = count = 0
    months: dict[str, tuple[int, int]] = {}
    for invoice in invoices:
        if invoice.issued_at >= until or (start is not None and invoice.issued_at < start):
            continue
        total += invoice.total
        seats += invoice.of_kinds
        count += 1
        month = iso(invoice.issued_at)[:7]
        amount, number = months.get(month, (0, 0))
        months[month] = (amount + invoice.total, number + 1)
    return Figures(total, seats, count, months)


def sums(invoices: Iterable[Invoice]) -> list[InvoiceSum]:
    """Invoices the core proposes, summed as the store sums issued ones."""
    return [
        InvoiceSum(
            invoice.issued_at,
            invoice.total,
            sum(line.amount for line in invoice.lines if line.kind in SEAT_LINES),
        )
        for invoice in invoices
    ]


@dataclass(frozen=True, slots=True)
class AccountOutcome:
    account_id: str
    plan_id: str
    old: Figures
    new: Figures
    error: str | None = None  # why it could not be re-billed (then ``new`` is empty)

    @property
    def difference(self) -> int:
        return self.new.total - self.old.total


def rebill(
    stored: StoredAccount,
    invoiced: Sequence[InvoiceSum],
    plan: Plan,
    start: datetime | None,
    until: datetime,
) -> AccountOutcome:
    """The account's timeline billed under ``plan`` from scratch, beside what it was invoiced,
    both up to ``until`` or as far as the account has been billed, whichever is earlier (time
    not billed yet is not a difference). An account that cannot be re-billed is an outcome
    with its reason, never an exception."""
    if stored.billed_until is None:
        reason = "never billed: run `seatwise bill` first"
        return AccountOutcome(stored.id, stored.plan_id, Figures(), Figures(), reason)
    until = min(until, stored.billed_until)
    old = figures(invoiced, start, until)
    if plan.currency != stored.plan.currency:
        reason = f"bills in {stored.plan.currency.code}, the plan in {plan.currency.code}"
        return AccountOutcome(stored.id, stored.plan_id, old, Figures(), reason)
    try:
        result = generate_invoices(plan, stored.account, stored.events, until)
    except SeatwiseError as error:
        return AccountOutcome(stored.id, stored.plan_id, old, Figures(), str(error))
    new = figures(sums(result.invoices), start, until)
    return AccountOutcome(stored.id, stored.plan_id, old, new)


@dataclass(frozen=True)
class Backtest:
    """Every account's outcome, and the book's figures summed from them."""

    label: str
    definition: dict[str, Any]
    currency: Currency
    start: datetime | None
    until: datetime
    outcomes: tuple[AccountOutcome, ...]
    seconds: float = 0.0
    jobs: int = 1

    @property
    def compared(self) -> list[AccountOutcome]:
        return [o for o in self.outcomes if o.error is None]

    @property
    def failed(self) -> list[AccountOutcome]:
        return [o for o in self.outcomes if o.error is not None]

    @property
    def accounts_per_second(self) -> float:
        return len(self.outcomes) / self.seconds if self.seconds > 0 else 0.0

    def months(self) -> list[str]:
        found: set[str] = set()
        for outcome in self.compared:
            found.update(outcome.old.months, outcome.new.months)
        return sorted(found)

    def by_month(self) -> list[tuple[str, int, int, int, int]]:
        """(month, old amount, new amount, old invoice count, new invoice count)."""
        rows = []
        for month in self.months():
            old = [o.old.months.get(month, (0, 0)) for o in self.compared]
            new = [o.new.months.get(month, (0, 0)) for o in self.compared]
            rows.append(
                (
                    month,
                    sum(a for a, _ in old),
                    sum(a for a, _ in new),
                    sum(c for _, c in old),
                    sum(c for _, c in new),
                )
            )
        return rows

    def totals(self) -> tuple[int, int, int, int]:
        """(old total, new total, old seat lines, new seat lines) of the compared accounts."""
        compared = self.compared
        return (
            sum(o.old.total for o in compared),
            sum(o.new.total for o in compared),
            sum(o.old.seat_lines for o in compared),
            sum(o.new.seat_lines for o in compared),
        )

    def counts(self) -> tuple[int, int, int]:
        """How many compared accounts would pay more, less, the same."""
        differences = [o.difference for o in self.compared]
        return (
            sum(1 for d in differences if d > 0),
            sum(1 for d in differences if d < 0),
            sum(1 for d in differences if d == 0),
        )

    def largest(self, count: int = 10) -> tuple[list[AccountOutcome], list[AccountOutcome]]:
        """The largest gains (pay more) and losses (pay less), largest first; ties by id."""
        compared = self.compared
        gains = sorted(
            (o for o in compared if o.difference > 0), key=lambda o: (-o.difference, o.account_id)
        )
        losses = sorted(
            (o for o in compared if o.difference < 0), key=lambda o: (o.difference, o.account_id)
        )
        return gains[:count], losses[:count]
