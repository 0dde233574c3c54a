"""A plan and a cancellation told in words, for the people who pay (SPEC 6, 10): the billing
page, and anything else that must explain a bill without help.

:func:`billing_calendar` says when invoices come and what they count ("Invoiced on the 8th of
each month at 10:00 (UTC), in arrears, for every user active during the month before").
:func:`cancellation_outlook` says what cancelling now would do: when the subscription ends and
which invoices are still issued until then, found by the very walk that bills (so the words
never disagree with the invoices). Pure: nothing here reads a clock or a store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from seatwise.core.account import Account, Cancel
from seatwise.core.billing import TimelineEvent, walk
from seatwise.core.invoicing import Invoice
from seatwise.core.periods import make_schedule
from seatwise.core.plans import Plan

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``22nd``."""
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{({1: 'st', 2: 'nd', 3: 'rd'}).get(number % 10, 'th')}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def price_in_words(plan: Plan, money: Callable[[int], str] | None = None) -> str:
    """``$10.00 per seat per month``, or the rate schedule: ``per seat per year: 1–49 seats
    $10.00 each, 50 or more $9.00 each (every seat at the rate the count reaches)``."""
    write = money or plan.currency.display
    seat, term = plan.seat_name.lower(), plan.interval
    tiers = plan.pricing.tiers
    if len(tiers) == 1:
        return f"{write(tiers[0].price)} per {seat} per {term}"
    bands = []
    for index, tier in enumerate(tiers):
        if index + 1 < len(tiers):
            last = tiers[index + 1].first - 1
            span = f"{tier.first:,}" if last == tier.first else f"{tier.first:,}–{last:,}"
        else:
            span = f"{tier.first:,} or more"
        bands.append(f"{span} {seat}s {write(tier.price)} each")
    how = (
        "every seat at the rate the count reaches"
        if plan.pricing.mode == "volume"
        else "each seat at the rate of its own band"
    )
    return f"per {seat} per {term}: {', '.join(bands)} ({how})"


def billing_calendar(plan: Plan, account: Account) -> list[str]:
    """The plan's calendar and rules as sentences, the first one saying when invoices are
    issued and for what; then how changes inside a term are charged, and how invoices are
    paid."""
    start = account.start_at or account.subscribed_at
    schedule = make_schedule(start, plan.anchor_delay_hours, plan.interval, account.timezone)
    anchor = schedule.anchor.astimezone(account.timezone)
    clock = f"{anchor:%H:%M} ({account.timezone.key})"
    yearly = plan.interval == "year"
    term = "year" if yearly else "month"
    if yearly:
        when = f"on {anchor.day} {_MONTHS[anchor.month - 1]} each year at {clock}"
    else:
        when = f"on the {ordinal(anchor.day)} of each month at {clock}"
        if anchor.day > 28:
            when += " (the month's last day when it is shorter)"
    seat = plan.seat_name.lower()
    sentences = []
    if plan.billing == "arrears":
        counted = {
            "ever_active": f"every user active during the {term} before",
            "peak": f"the most users active at one time during the {term} before",
            "active": f"the users active at the end of the {term} before",
        }[plan.seats]
        sentences.append(f"Invoiced {when}, in arrears, for {counted}.")
    else:
        renewal = {
            "active": f"the {seat}s held at renewal",
            "peak": f"the most {seat}s held at one time during the {term} before",
        }[plan.renewal_seats]
        sentences.append(f"Invoiced {when}, in advance, for the {term} ahead: {renewal}.")
        sentences.extend(_changes_in_term(plan, term, seat))
    floor = plan.minimum_seats
    if floor:
        unit = "user" if plan.billing == "arrears" else seat
        verb = "is" if floor == 1 else "are"
        sentences.append(f"At least {_plural(floor, unit)} {verb} billed.")
    if account.committed_seats:
        sentences.append(
            f"Your commitment: {_plural(account.committed_seats, seat)}, billed even when "
            "fewer are in use."
        )
    if plan.statements:
        sentences.append("A statement is issued every month, even when nothing is due.")
    if plan.collection == "send_invoice":
        days = "on receipt" if plan.net_days == 0 else f"within {plan.net_days} days"
        sentences.append(f"Invoices are paid by transfer, {days}.")
    else:
        sentences.append("Each invoice is charged to your payment method on file when issued.")
    return sentences


def _changes_in_term(plan: Plan, term: str, seat: str) -> list[str]:
    """How an advance plan charges the changes of occupancy inside a term."""
    said = []
    if plan.seats == "peak":
        said.append(
            f"The {term} is charged for the most {seat}s held at one time: the count never "
            f"goes down inside a {term}, and a freed {seat} is reused by the next member."
        )
    increases = plan.increases
    if increases.charge == "none":
        said.append(f"{seat.capitalize()}s added during the {term} are billed from the renewal.")
        return said
    how = {"prorated": f"for the rest of the {term}", "full": f"for the whole {term}"}
    invoiced = {
        "immediately": "on an invoice at once",
        "threshold": "once the amounts add up to the threshold",
        "monthly": "on the next monthly invoice",
        "renewal": "on the renewal invoice",
    }[plan.pending.invoice]
    if plan.pending.invoice == "threshold":
        amount = plan.currency.display(plan.pending.threshold)
        invoiced = f"once they add up to {amount} (the rest on the renewal invoice)"
    said.append(
        f"{seat.capitalize()}s added during the {term} are charged {how[increases.charge]}, "
        f"{invoiced}."
    )
    if plan.decreases == "credit":
        said.append(f"{seat.capitalize()}s removed during the {term} are credited the same way.")
    else:
        said.append(f"{seat.capitalize()}s freed during the {term} are not refunded.")
    return said


@dataclass(frozen=True, slots=True)
class CancellationOutlook:
    """What a cancellation at ``at`` does: the subscription ends at ``ends_at`` (access until
    then), and ``invoices`` are still issued after ``at`` up to the end (their totals before
    any credit balance). ``not_billed``: the cycle in progress is not billed (arrears)."""

    at: datetime
    ends_at: datetime
    invoices: tuple[Invoice, ...]
    not_billed: bool
    already: bool  # the account had cancelled before ``at``


def cancellation_outlook(
    plan: Plan, account: Account, events: Iterable[TimelineEvent], at: datetime
) -> CancellationOutlook | None:
    """The outcome of cancelling at ``at`` (or of the cancellation already made), or None
    when there is nothing to cancel: the service ended, or has not started."""
    known = sorted((event for event in events if event.at <= at), key=lambda event: event.at)
    before = walk(plan, account, known, at)
    if before.ended or at < before.schedule.service_start:
        return None
    already = before.ends_at is not None
    timeline = known if already else [*known, Cancel(at)]
    run = walk(plan, account, timeline, at)
    if run.ends_at is None:  # pragma: no cover - a cancellation always sets the end
        return None
    ends_at = run.ends_at
    after = walk(plan, account, timeline, ends_at)
    coming = tuple(invoice for invoice in after.invoices if invoice.issued_at > at)
    return CancellationOutlook(at, ends_at, coming, plan.billing == "arrears", already)
