"""The state of one walk through time (:func:`seatwise.core.billing.walk`) and what the walk
does at each scheduled action: the initial invoice, renewals, monthly statements and interim
invoices, arrears cycles, the end. A change of occupancy inside a term is priced by
:mod:`seatwise.core.change_pricing`; credits by :mod:`seatwise.core.credit_billing`. Private
to the core: callers use :func:`seatwise.core.billing.generate_invoices`.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from seatwise.core.account import Account, Cancel, Terminate, Uncancel
from seatwise.core.change_pricing import on_member_changes, price_of
from seatwise.core.credit_billing import (
    CreditAlert,
    take_overage,
)
from seatwise.core.credits import CreditEvent, Wallet
from seatwise.core.invoicing import Explanation, Invoice, Line
from seatwise.core.money import Currency
from seatwise.core.periods import Period, Schedule, add_days, format_day
from seatwise.core.plans import Plan
from seatwise.core.seat_sweep import SeatSweep
from seatwise.core.seat_timeline import MemberChange, SeatTimeline

TimelineEvent = MemberChange | Cancel | Uncancel | Terminate | CreditEvent


def _instant(event: TimelineEvent) -> datetime:
    return event.at


# A walk's state is read attribute by attribute at every event, so a walk keeps fewer than
# thirty fields: from the thirtieth on, Python 3.11 gives each instance a dictionary of its
# own and every read of the walk's state slows down (a cache of words kept there cost a walk
# 2%; a test counts the fields). Caches of what depends on the plan alone live outside it.
@functools.lru_cache(maxsize=1024)
def _seats_words(plan: Plan, seats: int) -> str:
    """A seats line's description: ``12 × Seat (at €10.00 / month)``."""
    rate = plan.pricing.describe(seats, plan.currency)
    return f"{seats} × {plan.seat_name} (at {rate} / {plan.interval})"


@dataclass(frozen=True, slots=True)
class AccountState:
    """Where the subscription stands at ``until``."""

    status: str  # active | cancelled | suspended | deleted
    billed_seats: int
    committed_seats: int
    credit_balance: int
    ends_at: datetime | None
    pending: tuple[Line, ...]
    wallet: Wallet = field(default_factory=Wallet)
    awaiting_credits: tuple[datetime, ...] = ()  # credit purchases not paid yet (instants)


@dataclass
class BillingWalk:
    """The mutable state of one walk through time (:func:`walk`); private to the core."""

    plan: Plan
    account: Account
    seats: SeatTimeline
    schedule: Schedule
    committed: int  # set by commit(), with the floor
    sweep: SeatSweep  # occupancy at the instant the walk has reached
    paid_seats: int = 0  # seats paid for in the current term (advance) — "billed seats"
    term_index: int = 0
    next_month: int = 0  # the monthly anniversary the walk takes next (0: the service start)
    reached: datetime | None = None  # the instant the walk has been taken to
    started: bool = False
    ended: bool = False
    ends_at: datetime | None = None
    pending: list[Line] = field(default_factory=list)
    pending_total: int = 0  # the sum of ``pending``, kept as items come and go
    pending_since: datetime | None = None
    invoices: list[Invoice] = field(default_factory=list)
    timeline: Sequence[TimelineEvent] = ()  # the events the walk was last given, in order
    terminated: Terminate | None = None
    wallet: Wallet = field(default_factory=Wallet)
    awaiting_payment: dict[datetime, int] = field(default_factory=dict)  # purchases unpaid
    overage: list[Line] = field(default_factory=list)  # credits_overage, for a monthly invoice
    alerts: list[CreditAlert] = field(default_factory=list)
    terms: dict[int, Period] = field(default_factory=dict)  # computed once each
    prorations: dict[tuple[int, object], tuple[int, int, str]] = field(default_factory=dict)
    prices: dict[int, tuple[int, int | None]] = field(default_factory=dict)  # seats: cost, rate
    term_texts: dict[int, str] = field(default_factory=dict)
    term_days: dict[int, tuple[date, date]] = field(default_factory=dict)  # local, once each
    # the fewest seats ever billed: max(committed, the plan's minimum), kept by commit() (a
    # priced change asks for it at every member change)
    floor: int = field(init=False)

    def __post_init__(self) -> None:
        self.commit(self.committed)

    def commit(self, seats: int) -> None:
        """The committed seats are now ``seats``."""
        self.committed = seats
        self.floor = max(seats, self.plan.minimum_seats)

    def events_at(self, at: datetime) -> list[TimelineEvent]:
        """The events at the instant ``at`` among those the walk was last given."""
        timeline = self.timeline
        first = bisect_left(timeline, at, key=_instant)
        last = bisect_right(timeline, at, lo=first, key=_instant)
        return list(timeline[first:last])

    # -- helpers ------------------------------------------------------------------------------

    @property
    def cur(self) -> Currency:
        return self.plan.currency

    def day(self, instant: datetime) -> str:
        return format_day(instant, self.account.timezone)

    def holders(self) -> list[str]:
        """The members holding a seat at the instant the walk has reached."""
        return self.sweep.holders()

    def occupancy(self) -> int:
        return self.sweep.count

    def term(self) -> Period:
        term = self.terms.get(self.term_index)
        if term is None:
            term = self.terms[self.term_index] = self.schedule.term(self.term_index)
        return term

    def issue(self, kind: str, at: datetime, period: Period, lines: Sequence[Line]) -> None:
        due = add_days(at, self.plan.net_days, self.account.timezone)
        self.invoices.append(Invoice(kind, at, due, period, tuple(lines)))

    def take_pending(self, at: datetime) -> tuple[list[Line], Period]:
        lines, self.pending = self.pending, []
        self.pending_total = 0
        since = self.pending_since or at
        self.pending_since = at
        return lines, Period(since, at)

    def seats_line(self, seats: int, period: Period, why: str, members: Sequence[str]) -> Line:
        """The ``seats`` line charging ``seats`` seats for one whole term or cycle."""
        plan = self.plan
        amount, unit_price = price_of(self, seats)
        words = _seats_words(plan, seats)
        why = f"{why}; committed seats {self.committed}, minimum {plan.minimum_seats}."
        return Line(
            "seats", words, seats, unit_price, amount, period, Explanation(why, tuple(members))
        )

    def advance_seats_line(self, seats: int, period: Period, at: datetime, why: str) -> Line:
        holders = self.holders()
        return self.seats_line(
            seats, period, f"{why} {len(holders)} member(s) held a seat on {self.day(at)}", holders
        )

    # -- advance plans --------------------------------------------------------------------------

    def start(self, at: datetime, changes: Sequence[MemberChange]) -> None:
        """The initial invoice charges what a renewal would. A plan that renews at the term's
        maximum (``renewal_seats: peak``, a contract) starts every term at its committed seats:
        the initial invoice charges exactly the agreed seats, so it matches the contract, and
        members beyond them are a true-up from the first instant (pending items). A plan that
        renews at occupancy charges the occupancy, not below committed and minimum."""
        self.started = True
        self.pending_since = at
        if self.plan.renewal_seats == "peak" and self.committed > 0:
            seats = self.floor
            why = f"Charged in advance for the {self.committed} agreed seat(s)."
        else:
            seats = max(self.occupancy(), self.floor)
            why = "Charged in advance for the members holding a seat at the start."
        self.paid_seats = seats
        term = self.term()
        self.issue("initial", at, term, [self.advance_seats_line(seats, term, at, why)])
        on_member_changes(self, at, changes)

    def renew(self, at: datetime) -> None:
        previous = self.paid_seats
        occupancy = self.occupancy()
        if self.plan.renewal_seats == "peak":
            seats = max(previous, occupancy, self.floor)
            self.commit(seats)
            why = f"Renewed at the previous term's maximum of {previous} seat(s)."
        else:
            seats = max(occupancy, self.floor)
            why = "Renewed for the members holding a seat at renewal."
        carried, _ = self.take_pending(at)
        carried += take_overage(self)
        self.term_index += 1
        self.paid_seats = seats
        term = self.term()
        self.issue("renewal", at, term, [self.advance_seats_line(seats, term, at, why), *carried])

    def add_pending(self, lines: Sequence[Line]) -> None:
        self.pending.extend(lines)
        total = self.pending_total
        for line in lines:  # one or two, a change's: a loop costs less than a generator
            total += line.amount
        self.pending_total = total

    # -- monthly anniversaries ------------------------------------------------------------------

    def monthly(self, month_index: int, at: datetime) -> None:
        plan = self.plan
        total = self.pending_total
        take = (
            plan.pending.invoice == "monthly"
            and bool(self.pending)
            and total > 0
            and total >= plan.pending.threshold
        )
        if plan.statements:
            month = self.schedule.month(month_index - 1)
            lines = self.take_pending(at)[0] if take else []
            lines += take_overage(self)
            in_use = self.occupancy()
            info = Line(
                kind="info",
                description=(
                    f"{self.paid_seats} × {plan.seat_name} licensed, {in_use} in use, "
                    f"{max(self.paid_seats - in_use, 0)} unoccupied"
                ),
                quantity=self.paid_seats,
                unit_price=None,
                amount=0,
                period=month,
                explanation=Explanation(
                    f"Monthly statement on {self.day(at)}: {self.paid_seats} seat(s) paid for "
                    f"this term, {in_use} member(s) holding one.",
                    members=tuple(self.holders()),
                ),
            )
            self.issue("statement", at, month, [*lines, info])
        elif take:
            lines, period = self.take_pending(at)
            self.issue("interim", at, period, [*lines, *take_overage(self)])
        elif self.overage:  # credits overage goes on the next monthly invoice, whatever else
            since = self.overage[0].period.start
            self.issue("interim", at, Period(since, at), take_overage(self))

    # -- arrears plans --------------------------------------------------------------------------

    def bill_cycle(self, cycle: Period, at: datetime) -> None:
        plan = self.plan
        if plan.seats == "ever_active":
            counted = self.sweep.cycle_holders()
            count = len(counted)
            how = (
                f"{count} member(s) held a seat at some time between {self.day(cycle.start)} "
                f"and {self.day(cycle.end)} (each counted once)"
            )
        elif plan.seats == "peak":
            counted = self.sweep.cycle_holders()
            count = self.sweep.cycle_peak
            how = f"at most {count} member(s) held a seat at one time during the cycle"
        else:
            counted = self.holders()
            count = len(counted)
            how = f"{count} member(s) held a seat at the end of the cycle"
        seats = max(count, self.floor)
        line = self.seats_line(seats, cycle, f"Billed in arrears: {how}", counted)
        carried, _ = self.take_pending(at)
        carried += take_overage(self)
        self.paid_seats = seats
        self.issue("arrears", at, cycle, [line, *carried])

    # -- term boundaries and the end ----------------------------------------------------------

    def boundary(self, term_index: int, at: datetime) -> None:
        if self.ends_at is not None and self.ends_at <= at:
            self.finish(at)
            return
        if self.plan.billing == "arrears":
            self.bill_cycle(self.schedule.term(term_index - 1), at)
            self.term_index = term_index
            self.sweep.begin_cycle(self.schedule.boundary(term_index + 1))
        else:
            self.renew(at)

    def finish(self, at: datetime) -> None:
        """The subscription ends: pending items go on a ``final`` invoice; arrears plans do not
        bill the last cycle (SPEC 2.2)."""
        self.ended = True
        if self.pending or self.overage:
            lines, period = self.take_pending(at)
            self.issue("final", at, period, [*lines, *take_overage(self)])

    def terminate(self, event: Terminate) -> None:
        """Dunning's final action: billing stops at once, pending items are dropped."""
        if self.ended:
            return
        self.ended = True
        self.terminated = event
        self.ends_at = event.at
        self.pending = []
        self.pending_total = 0
        self.overage = []

    def cancel(self, at: datetime) -> None:
        if self.ends_at is not None:
            return
        index = 0
        while self.schedule.boundary(index) < at:
            index += 1
        self.ends_at = self.schedule.boundary(index)

    def uncancel(self, at: datetime) -> None:
        """A cancellation taken back before it took effect: nothing ends."""
        if self.ends_at is not None and not self.ended and at < self.ends_at:
            self.ends_at = None

    def state(self, until: datetime, balance: int) -> AccountState:
        status = "active"
        if self.terminated is not None:
            status = self.terminated.status
        elif self.ended:
            status = "cancelled"
        billed = 0 if self.ended else self.paid_seats
        if (
            not self.ended
            and self.plan.billing == "arrears"
            and until >= self.schedule.service_start
        ):
            if self.plan.seats == "ever_active":
                so_far = len(self.sweep.cycle_holders(before=until))
            else:
                so_far = self.occupancy()
            billed = max(so_far, self.floor)
        return AccountState(
            status=status,
            billed_seats=billed,
            committed_seats=self.committed,
            credit_balance=balance,
            ends_at=self.ends_at,
            pending=(*self.pending, *self.overage),
            wallet=self.wallet,
            awaiting_credits=tuple(self.awaiting_payment),
        )
