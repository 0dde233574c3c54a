"""Reconciling what the timeline says should be billed with what was already issued.

Billing is recomputed from the whole timeline on every run (SPEC 4: the timeline is the source
of truth). :func:`reconcile` compares that proposal with the invoices already issued, by their
key (kind and period), and says what to do now:

* a proposed invoice whose key was never issued, and which is due by ``now``, is issued;
* an issued invoice whose billable amount differs from what the timeline now proposes (an
  event reported late, for a period already invoiced), or that the timeline no longer proposes
  at all, is never rewritten: the difference becomes an ``adjustment`` line on the next invoice
  issued, naming the invoice it corrects;
* adjustment lines already issued for an invoice count against what is owed for it, so running
  the same reconciliation twice issues nothing the second time.

It is a pure function, like the generator (Kill Bill's InvoiceGenerator): the engine feeds it
the stored invoices and persists its answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from seatwise.core.invoicing import Invoice, Line, billable_total
from seatwise.core.money import Currency
from seatwise.core.periods import add_days, iso
from seatwise.core.records import quick_init, replaced


@quick_init
@dataclass(frozen=True, slots=True)
class IssuedInvoice:
    """An invoice as the store holds it: finalized, numbered, immutable."""

    number: str
    invoice: Invoice


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """``to_issue``: new invoices in issue order, not yet settled against the credit balance.
    ``outstanding``: adjustments owed but waiting, because no invoice is due yet to carry them.
    """

    to_issue: tuple[Invoice, ...]
    outstanding: tuple[Line, ...]


def reconcile(
    proposed: Sequence[Invoice],
    issued: Sequence[IssuedInvoice],
    now: datetime,
    cur: Currency,
    net_days: int,
    tz: ZoneInfo,
) -> Reconciliation:
    """What to issue at ``now``, given the proposal and the issued history."""
    by_key = {invoice.key: invoice for invoice in proposed}
    issued_keys = {entry.invoice.key for entry in issued}
    latest = max((entry.invoice.issued_at for entry in issued), default=None)

    new: list[Invoice] = []
    for invoice in proposed:
        if invoice.key in issued_keys or invoice.issued_at > now:
            continue
        if latest is not None and invoice.issued_at <= latest:
            # Every invoice due by the latest issue was issued then: one proposed for such an
            # instant exists only because of a late event. It is issued now, not back-dated.
            invoice = replaced(invoice, issued_at=now, due_at=add_days(now, net_days, tz))
        new.append(invoice)
    new.sort(key=lambda invoice: invoice.issued_at)  # stable: numbers follow issue dates

    adjustments = _adjustments(by_key, issued, cur)
    if not new:
        return Reconciliation((), tuple(adjustments))
    if adjustments:  # carried by the first invoice issued now
        new[0] = replaced(new[0], lines=(*new[0].lines, *adjustments))
    return Reconciliation(tuple(new), ())


def _adjustments(
    proposed: dict[tuple[str, datetime, datetime], Invoice],
    issued: Sequence[IssuedInvoice],
    cur: Currency,
) -> list[Line]:
    already: dict[str, int] = {}
    for entry in issued:
        for line in entry.invoice.lines:
            if line.kind == "adjustment" and line.corrects is not None:
                already[line.corrects] = already.get(line.corrects, 0) + line.amount
    lines = []
    for entry in issued:
        billed = billable_total(entry.invoice)
        now_due = proposed.get(entry.invoice.key)
        should = billable_total(now_due) if now_due is not None else 0
        owed = should - billed - already.get(entry.number, 0)
        if owed == 0:
            continue
        period = entry.invoice.period
        what = f"{entry.invoice.kind} invoice {entry.number}"
        if now_due is None:
            reason = (
                f"The timeline no longer produces the {what} of {iso(period.start)} – "
                f"{iso(period.end)}, which billed {cur.display(billed)}."
            )
        else:
            reason = (
                f"Events reported after {entry.number} was issued change what it should have "
                f"billed from {cur.display(billed)} to {cur.display(should)}."
            )
        lines.append(
            Line.of_amount(
                "adjustment",
                f"Adjustment to {entry.number} ({entry.invoice.kind}, late events)",
                owed,
                period,
                f"{reason} The invoice is not rewritten; this line settles the "
                f"difference of {cur.display(owed)}.",
                corrects=entry.number,
            )
        )
    return lines
