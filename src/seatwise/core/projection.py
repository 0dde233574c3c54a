"""The projected invoice (SPEC 6): what the next invoice would hold if the cycle ended now.

The timeline is walked up to the instant asked for, exactly as billing walks it; then the walk
is made to end the current cycle at that instant with the very rules that end a real one:

* an ``arrears`` plan bills the cycle so far, ``[cycle start, at)``, counting members by the
  plan's ``seats`` rule (every member active in it, the peak, or those active now);
* an ``advance`` plan renews now: the next term's seats by ``renewal_seats``, with the pending
  items (true-ups, credits) accrued since the last invoice;
* a subscription already cancelled shows its ``final`` invoice of pending items, if any.

Members listed are the ones the seat count counted. Nothing is issued or stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from seatwise.core.account import Account
from seatwise.core.billing import TimelineEvent, walk
from seatwise.core.invoicing import Invoice, settle
from seatwise.core.periods import Period, add_months, format_day
from seatwise.core.plans import Plan


@dataclass(frozen=True, slots=True)
class NextInvoice:
    """The invoice the account gets next if nothing else happens: its kind, when it is
    issued, and its total as things stand. ``due``: its date has passed and it is not issued
    yet (billing is behind): the next billing run issues it."""

    kind: str
    at: datetime
    total: int
    due: bool = False


@dataclass(frozen=True, slots=True)
class Projection:
    """``invoice`` is None when nothing would be invoiced; ``note`` says why, in words.
    ``next_invoice``: what comes next on the calendar (a monthly statement or interim may come
    before the renewal projected), None when nothing more is scheduled."""

    at: datetime
    invoice: Invoice | None
    members: tuple[str, ...]
    note: str
    next_invoice: NextInvoice | None = None


def next_invoice(
    plan: Plan, account: Account, events: Iterable[TimelineEvent], at: datetime
) -> NextInvoice | None:
    """The first invoice issued after ``at`` if nothing but time passes (events after ``at``
    are not known): the calendar walked up to a term and a month ahead."""
    known = [event for event in events if event.at <= at]
    horizon = add_months(at, 13, account.timezone)
    later = [i for i in walk(plan, account, known, horizon).invoices if i.issued_at > at]
    if not later:
        return None
    first = later[0]
    return NextInvoice(first.kind, first.issued_at, first.total)


def project_invoice(
    plan: Plan,
    account: Account,
    events: Iterable[TimelineEvent],
    at: datetime,
    credit_balance: int | None = None,
) -> Projection:
    """The invoice the account would get if its current cycle ended at ``at``.

    ``credit_balance`` is the balance to use first (the engine passes the stored one); by
    default, the balance the timeline's own invoices leave, as a simulation would.
    """
    events = list(events)
    run = walk(plan, account, events, at)
    day = format_day(at, account.timezone)
    coming = next_invoice(plan, account, events, at)
    if credit_balance is None:
        credit_balance = settle(run.invoices, 0, plan.currency)[1]
    if at < run.schedule.service_start:
        return Projection(at, None, (), f"The service has not started on {day}.")
    if run.ended:
        return Projection(at, None, (), f"The subscription had ended by {day}.")
    issued = len(run.invoices)
    if run.ends_at is not None:
        run.finish(at)
        note = f"The subscription ends on {format_day(run.ends_at, account.timezone)}."
    elif plan.billing == "arrears":
        run.bill_cycle(Period(run.schedule.boundary(run.term_index), at), at)
        note = f"The cycle so far, billed in arrears as if it ended on {day}."
    else:
        run.renew(at)
        note = (
            f"The next renewal, its seats counted as if the term ended on {day}, "
            "with the pending items."
        )
    if coming is not None:
        when = format_day(coming.at, account.timezone)
        note += f" The next invoice is the {coming.kind} of {when}."
    if len(run.invoices) == issued:
        return Projection(at, None, (), f"{note} Nothing is pending.", coming)
    settled, _ = settle(run.invoices[issued:], credit_balance, plan.currency)
    invoice = settled[0]
    seats = [line for line in invoice.lines if line.kind == "seats"]
    members = seats[0].explanation.members if seats else ()
    return Projection(at, invoice, members, note, coming)
