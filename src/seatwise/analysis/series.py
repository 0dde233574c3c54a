"""Seats over time: occupancy and billed seats as step functions, and seat-days between them.

Pure functions of a timeline and the invoices a plan issued for it; nothing here reads a
clock or a store.

* **Occupancy** at an instant is how many members hold a seat then (the plan says whether
  invited members do), changes at that instant applied.
* **Billed seats** at an instant is what the invoices charge for it: a ``seats`` line its
  quantity over its period, a ``remaining_time`` or ``additional_seats`` line its quantity
  from the change to the end of the term, an ``unused_time`` line minus its quantity over the
  same span. Items still pending at the end count (they will be invoiced), and so does the
  cycle an arrears plan is in at the end, at the seats it would bill for it then.
* **Seat-days** integrate those over the window: seat-days paid for and not used (billed above
  occupancy) and member-days used and not paid for (occupancy above billed), exact fractions
  of 86,400 seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from itertools import groupby, pairwise

from seatwise.core.billing import AccountState
from seatwise.core.invoicing import Invoice, Line
from seatwise.core.money import round_half_up
from seatwise.core.plans import Plan
from seatwise.core.seat_sweep import SeatSweep
from seatwise.core.seat_timeline import MemberChange

Step = tuple[datetime, int]  # the value from this instant on, until the next step
SECONDS_PER_DAY = 86_400

# How a line moves the billed seats over its period: by its quantity, up or down.
_BILLED_SIGN = {"seats": 1, "remaining_time": 1, "additional_seats": 1, "unused_time": -1}


def occupancy_steps(
    changes: Iterable[MemberChange], count_invited: bool, start: datetime, until: datetime
) -> list[Step]:
    """Occupancy over ``[start, until)``, one step per instant at which it changes (the
    first step is at ``start``): the billing walk's own sweep, one group of changes at a
    time."""
    sweep = SeatSweep(count_invited)
    steps: list[Step] = [(start, 0)]
    for at, group in groupby(changes, key=lambda change: change.at):
        if at >= until:  # the window is [start, until)
            break
        sweep.apply(at, group)
        _put(steps, max(at, start), sweep.count)
    return steps


def billed_steps(
    plan: Plan,
    invoices: Sequence[Invoice],
    state: AccountState,
    start: datetime,
    until: datetime,
) -> list[Step]:
    """Billed seats over ``[start, until)`` (see the module's words)."""
    lines: list[Line] = [line for invoice in invoices for line in invoice.lines]
    lines += state.pending
    moves: dict[datetime, int] = {}
    for line in lines:
        sign = _BILLED_SIGN.get(line.kind)
        if sign is None or line.period.end <= line.period.start:
            continue
        moves[line.period.start] = moves.get(line.period.start, 0) + sign * line.quantity
        moves[line.period.end] = moves.get(line.period.end, 0) - sign * line.quantity
    if plan.billing == "arrears" and state.status == "active" and state.billed_seats:
        billed_up_to = max(
            (line.period.end for line in lines if line.kind == "seats"), default=start
        )
        if billed_up_to < until:  # the cycle under way, at what it would bill now
            moves[billed_up_to] = moves.get(billed_up_to, 0) + state.billed_seats
            moves[until] = moves.get(until, 0) - state.billed_seats
    steps: list[Step] = [(start, 0)]
    level = 0
    for at in sorted(moves):
        level += moves[at]
        if at < until:
            _put(steps, max(at, start), level)
    return steps


def _put(steps: list[Step], at: datetime, value: int) -> None:
    """Append a step, merging it with the last one at the same instant or of the same value."""
    if steps[-1][0] == at:
        steps[-1] = (at, value)
        if len(steps) > 1 and steps[-2][1] == value:
            steps.pop()
    elif steps[-1][1] != value:
        steps.append((at, value))


def value_at(steps: Sequence[Step], instant: datetime) -> int:
    value = 0
    for at, level in steps:
        if at > instant:
            break
        value = level
    return value


@dataclass(frozen=True, slots=True)
class SeatDays:
    """Seat-days over the window, exact (fractions of a day)."""

    occupied: Fraction
    billed: Fraction
    paid_not_used: Fraction  # billed seats above occupancy
    used_not_paid: Fraction  # occupancy above billed seats


def seat_days(
    occupancy: Sequence[Step], billed: Sequence[Step], start: datetime, until: datetime
) -> SeatDays:
    """Integrate both step functions over ``[start, until)`` in one merged pass."""
    instants = sorted({at for at, _ in occupancy} | {at for at, _ in billed} | {start, until})
    instants = [at for at in instants if start <= at <= until]
    occupied = billed_total = over = under = Fraction(0)
    o_index = b_index = 0
    o_value = b_value = 0
    for at, following in pairwise(instants):
        while o_index < len(occupancy) and occupancy[o_index][0] <= at:
            o_value = occupancy[o_index][1]
            o_index += 1
        while b_index < len(billed) and billed[b_index][0] <= at:
            b_value = billed[b_index][1]
            b_index += 1
        days = Fraction(int((following - at).total_seconds()), SECONDS_PER_DAY)
        occupied += o_value * days
        billed_total += b_value * days
        over += max(b_value - o_value, 0) * days
        under += max(o_value - b_value, 0) * days
    return SeatDays(occupied, billed_total, over, under)


def days_text(days: Fraction) -> str:
    """Seat-days to two decimals, half up: ``"1234.50"``."""
    rounded = round_half_up(days * 100)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{abs(rounded) // 100}.{abs(rounded) % 100:02d}"
