"""What a billing run answers: its report (accounts, invoices, lines, charges, reminders,
messages, the accounts it could not bill and why) and its refusal, and the rule every run
checks first: billing never acts at an instant that has not happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatwise.core.errors import SeatwiseError
from seatwise.core.limits import check_instant
from seatwise.core.periods import iso
from seatwise.engine.clock import Clock, SystemClock


@dataclass(frozen=True)
class AccountFailure:
    """An account a billing run could not bill, and why (it was left untouched)."""

    account_id: str
    reason: str


@dataclass(frozen=True)
class BillingReport:
    accounts: int
    invoices: int
    lines: int
    charges: int = 0  # payment attempts made
    paid: int = 0  # of which succeeded
    reminders: int = 0
    messages: int = 0  # emails and webhooks queued in the outbox
    failed: tuple[AccountFailure, ...] = ()
    not_due: int = 0  # accounts left alone: nothing due for them by `until`

    def __add__(self, other: BillingReport) -> BillingReport:
        return BillingReport(
            self.accounts + other.accounts,
            self.invoices + other.invoices,
            self.lines + other.lines,
            self.charges + other.charges,
            self.paid + other.paid,
            self.reminders + other.reminders,
            self.messages + other.messages,
            self.failed + other.failed,
            self.not_due + other.not_due,
        )


class BillingRefused(SeatwiseError):
    """A billing run that cannot be made; nothing was done."""


def check_not_ahead(until: datetime, clock: Clock | None) -> None:
    """Billing never acts at an instant that has not happened."""
    now = (clock or SystemClock()).now()
    check_instant(until, "until")
    if until > now:
        raise BillingRefused(
            f"until: {iso(until)} is in the future (now is {iso(now)}): billing never acts "
            "ahead of time; a preview (`seatwise bill --preview --until …`) shows what would "
            "happen"
        )


def one_line(error: Exception) -> str:
    """An exception in one line, for an operator."""
    text = str(error) if isinstance(error, SeatwiseError) else f"{type(error).__name__}: {error}"
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
