"""A change of occupancy inside a term of an ``advance`` plan, priced (SPEC 3 and 5): the
plan's ``increases`` / ``decreases`` rules make pending items — one signed ``delta`` line, or a
``remaining_time`` / ``unused_time`` pair — prorated for what is left of the term and
explained by the member changes that caused them; then the items are invoiced at once, or at
a threshold (:func:`invoice_pending_on_change`), or later by the walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from seatwise.core.invoicing import Explanation, Line
from seatwise.core.money import round_ratio
from seatwise.core.periods import Period, format_date, local_date
from seatwise.core.proration import days_left, describe_fraction, fraction_remaining
from seatwise.core.seat_timeline import MemberChange

if TYPE_CHECKING:
    from seatwise.core.billing_walk import BillingWalk


def on_member_changes(run: BillingWalk, at: datetime, changes: Sequence[MemberChange]) -> None:
    """Price a change of occupancy inside the current term of an advance plan."""
    if not run.started or run.ended:
        return
    plan, old = run.plan, run.paid_seats
    # max(occupancy, floor), and the seats paid for under a peak plan, compared in place:
    # this runs for every member change of a term
    target, floor = run.sweep.count, run.floor
    if floor > target:
        target = floor
    if old > target and plan.seats == "peak":
        target = old
    increase = target > old
    if not increase and (target == old or plan.decreases != "credit"):
        return  # the seats paid for stay as they are: the usual change, settled first
    if at >= run.term().end:
        return
    run.add_pending(price_change(run, old, target, at, changes, increase=increase))
    run.paid_seats = target
    invoice_pending_on_change(run, at)


def term_words(run: BillingWalk) -> str:
    """The current term in words, ``15 Feb 2025 – 15 Feb 2026`` (once per term)."""
    words = run.term_texts.get(run.term_index)
    if words is None:
        term = run.term()
        words = run.term_texts[run.term_index] = f"{run.day(term.start)} – {run.day(term.end)}"
    return words


def price_of(run: BillingWalk, seats: int) -> tuple[int, int | None]:
    """C(seats) for a term and the unit price at that count, computed once per count."""
    found = run.prices.get(seats)
    if found is None:
        found = run.prices[seats] = run.plan.pricing.cost_and_unit_price(seats)
    return found


def proration(run: BillingWalk, at: datetime, day: date) -> tuple[int, int, str]:
    """The share of the current term left at ``at`` (on the local date ``day``), as a
    numerator and a denominator, and how it was obtained; by day it depends on the date only,
    so it is computed once per date (and not reduced: the amount rounded is the same)."""
    granularity, tz = run.plan.increases.proration, run.account.timezone
    if granularity == "day":
        key: tuple[int, object] = (run.term_index, day)
        found = run.prorations.get(key)
        if found is None:
            days = run.term_days.get(run.term_index)
            if days is None:
                term = run.term()
                days = local_date(term.start, tz), local_date(term.end, tz)
                run.term_days[run.term_index] = days
            left, whole = days_left(days, day)
            found = run.prorations[key] = (left, whole, f"{left}/{whole} days")
        return found
    term = run.term()
    key = (run.term_index, at)
    fraction = fraction_remaining(term, at, granularity, tz)
    how = describe_fraction(fraction, term, at, granularity, tz)
    found = run.prorations[key] = (fraction.numerator, fraction.denominator, how)
    return found


def price_change(
    run: BillingWalk,
    old: int,
    new: int,
    at: datetime,
    changes: Sequence[MemberChange],
    increase: bool,
) -> list[Line]:
    plan, term = run.plan, run.term()
    if increase and plan.increases.charge == "none":
        return []
    day = local_date(at, run.account.timezone)  # once: the proration's and the words'
    if increase and plan.increases.charge == "full":
        numerator, denominator, how = 1, 1, "the full term"
    else:
        numerator, denominator, how = proration(run, at, day)
    span = Period(at, term.end)
    date = format_date(day)
    if len(changes) == 1:  # the usual change: one member's
        moved: tuple[str, ...] = (changes[0].member,)
    else:
        moved = tuple(dict.fromkeys([change.member for change in changes]))
    cause = (
        f"Seats went from {old} to {new} on {date} ({describe_changes(changes)}); "
        f"priced for {how} of the term {term_words(run)}."
    )
    explanation = Explanation(cause, moved, tuple(changes))  # one per change
    # each line: its cost (signed, minor units, whole term) times the fraction, rounded once;
    # made by position (a frozen record's keyword arguments cost a third more, twice a change)
    seat = plan.seat_name
    new_cost, new_rate = price_of(run, new)
    old_cost, old_rate = price_of(run, old)
    if plan.increases.lines == "delta":
        # One line for C(new) − C(old), signed: with volume tiers more seats can cost less.
        difference = abs(new - old)
        rate = new_rate if new_rate == old_rate or old == 0 else None
        if increase:
            kind = "additional_seats"
            text = f"{difference} × Additional {seat.lower()} after {date} ({old} → {new})"
        else:
            kind = "unused_time"
            text = f"Unused time on {difference} × {seat} after {date} ({old} → {new})"
        amount = round_ratio((new_cost - old_cost) * numerator, denominator)
        return [Line(kind, text, difference, rate, amount, span, explanation)]
    lines = []
    if new > 0:
        text = f"Remaining time on {new} × {seat} after {date}"
        amount = round_ratio(new_cost * numerator, denominator)
        lines.append(Line("remaining_time", text, new, new_rate, amount, span, explanation))
    if old > 0:
        text = f"Unused time on {old} × {seat} after {date}"
        amount = round_ratio(-old_cost * numerator, denominator)
        lines.append(Line("unused_time", text, old, old_rate, amount, span, explanation))
    return lines


def invoice_pending_on_change(run: BillingWalk, at: datetime) -> None:
    mode = run.plan.pending.invoice
    total = run.pending_total
    due_now = mode == "immediately" or (
        mode == "threshold" and total > 0 and total >= run.plan.pending.threshold
    )
    if due_now and run.pending:
        lines, period = run.take_pending(at)
        run.issue("interim", at, period, lines)


def describe_changes(changes: Sequence[MemberChange], shown: int = 5) -> str:
    """Member changes in words, grouped by action: ``m81, m82 activated; m3 deleted``."""
    if len(changes) == 1:  # the usual change: one member's
        return f"{changes[0].member} {changes[0].action}d"
    if not changes:
        return "no member change"
    by_action: dict[str, list[str]] = {}
    for change in changes:
        by_action.setdefault(change.action, []).append(change.member)
    parts = []
    for action, members in by_action.items():
        names = ", ".join(members[:shown])
        if len(members) > shown:
            names += f" and {len(members) - shown} more"
        parts.append(f"{names} {action}d")
    return "; ".join(parts)
