"""Invoice generation: a pure function of a plan, an account and its timeline (SPEC 2–6).

:func:`generate_invoices` walks time from the service start to ``until``. At each instant it
first applies the timeline's events (member changes, cancellation) and then the scheduled
action due then, if any (SPEC 4: events at the same instant as a scheduled action come
first). The scheduled actions are:

* month 0 — the ``initial`` invoice of an ``advance`` plan;
* every term boundary — the ``renewal`` (advance) or the ``arrears`` invoice of the cycle
  just ended, or the end of a cancelled subscription (``final`` invoice for pending items);
* every other monthly anniversary — the ``statement`` and/or monthly ``interim`` invoice.

Between them, every change of occupancy inside a term of an ``advance`` plan is priced by
the plan's ``increases`` / ``decreases`` rules into pending items, which are invoiced
``immediately``, at a ``threshold``, ``monthly`` or at ``renewal``.

The same inputs always give the same invoices; nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from functools import lru_cache
from itertools import groupby, pairwise
from zoneinfo import ZoneInfo

from seatwise.core.account import Account, Cancel, Terminate, Uncancel
from seatwise.core.credit_billing import (
    CreditAlert,
    apply_credit_event,
    member_left,
    take_overage,
)
from seatwise.core.credits import CreditEvent, Wallet
from seatwise.core.errors import TimelineError
from seatwise.core.invoicing import Explanation, Invoice, Line, lines_total, settle
from seatwise.core.money import Currency, round_ratio
from seatwise.core.periods import Period, Schedule, add_days, local_date, make_schedule
from seatwise.core.plans import Plan
from seatwise.core.proration import days_remaining, describe_fraction, fraction_remaining
from seatwise.core.seat_sweep import SeatSweep
from seatwise.core.seat_timeline import MemberChange, SeatTimeline

TimelineEvent = MemberChange | Cancel | Uncancel | Terminate | CreditEvent


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


@dataclass(frozen=True, slots=True)
class BillingResult:
    """``invoices`` are settled against the credit balance from zero, as a simulation issues
    them; ``proposed`` are the same invoices before settlement, for an engine that settles
    against the balance it has stored (see :mod:`seatwise.core.reconcile`)."""

    invoices: tuple[Invoice, ...]
    state: AccountState
    seats: SeatTimeline
    proposed: tuple[Invoice, ...] = ()
    alerts: tuple[CreditAlert, ...] = ()
    # A walk resumed from a checkpoint (:mod:`seatwise.core.checkpoint`) proposes only what
    # comes after the checkpoint's instant, ``resumed_at``; ``seats`` answers from it on.
    resumed_at: datetime | None = None
    walk: BillingWalk | None = field(default=None, compare=False, repr=False)


def format_day(instant: datetime, tz: ZoneInfo) -> str:
    """A calendar date as invoices print it: ``15 Mar 2021``."""
    return _format_date(local_date(instant, tz))


@lru_cache(maxsize=4096)
def _format_date(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


@dataclass
class BillingWalk:
    """The mutable state of one walk through time (:func:`walk`); private to the core."""

    plan: Plan
    account: Account
    seats: SeatTimeline
    schedule: Schedule
    committed: int
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
    events_by_instant: dict[datetime, list[TimelineEvent]] = field(default_factory=dict)
    terminated: Terminate | None = None
    wallet: Wallet = field(default_factory=Wallet)
    awaiting_payment: dict[datetime, int] = field(default_factory=dict)  # purchases unpaid
    overage: list[Line] = field(default_factory=list)  # credits_overage, for a monthly invoice
    alerts: list[CreditAlert] = field(default_factory=list)
    terms: dict[int, Period] = field(default_factory=dict)  # computed once each
    prorations: dict[tuple[int, object], tuple[Fraction, str]] = field(default_factory=dict)
    prices: dict[int, tuple[int, int | None]] = field(default_factory=dict)  # seats: cost, rate
    term_texts: dict[int, str] = field(default_factory=dict)
    term_days: dict[int, tuple[date, date]] = field(default_factory=dict)  # local, once each

    def events_at(self, at: datetime) -> list[TimelineEvent]:
        return self.events_by_instant.get(at, [])

    # -- helpers ------------------------------------------------------------------------------

    @property
    def cur(self) -> Currency:
        return self.plan.currency

    def day(self, instant: datetime) -> str:
        return format_day(instant, self.account.timezone)

    def floor(self) -> int:
        return max(self.committed, self.plan.minimum_seats)

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
        return Line(
            kind="seats",
            description=(
                f"{seats} × {plan.seat_name} "
                f"(at {plan.pricing.describe(seats, self.cur)} / {plan.interval})"
            ),
            quantity=seats,
            unit_price=plan.pricing.unit_price(seats),
            amount=plan.pricing.cost(seats),
            period=period,
            explanation=Explanation(
                f"{why}; committed seats {self.committed}, minimum {plan.minimum_seats}.",
                members=tuple(members),
            ),
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
            seats = self.floor()
            why = f"Charged in advance for the {self.committed} agreed seat(s)."
        else:
            seats = max(self.occupancy(), self.floor())
            why = "Charged in advance for the members holding a seat at the start."
        self.paid_seats = seats
        term = self.term()
        self.issue("initial", at, term, [self.advance_seats_line(seats, term, at, why)])
        self.on_member_changes(at, changes)

    def renew(self, at: datetime) -> None:
        previous = self.paid_seats
        occupancy = self.occupancy()
        if self.plan.renewal_seats == "peak":
            seats = max(previous, occupancy, self.floor())
            self.committed = seats
            why = f"Renewed at the previous term's maximum of {previous} seat(s)."
        else:
            seats = max(occupancy, self.floor())
            why = "Renewed for the members holding a seat at renewal."
        carried, _ = self.take_pending(at)
        carried += take_overage(self)
        self.term_index += 1
        self.paid_seats = seats
        term = self.term()
        self.issue("renewal", at, term, [self.advance_seats_line(seats, term, at, why), *carried])

    def on_member_changes(self, at: datetime, changes: Sequence[MemberChange]) -> None:
        """Price a change of occupancy inside the current term of an advance plan."""
        if not self.started or self.ended or at >= self.term().end:
            return
        plan = self.plan
        target = max(self.occupancy(), self.floor())
        if plan.seats == "peak":
            target = max(target, self.paid_seats)
        old = self.paid_seats
        if target > old:
            self.add_pending(self.price_change(old, target, at, changes, increase=True))
            self.paid_seats = target
        elif target < old and plan.decreases == "credit":
            self.add_pending(self.price_change(old, target, at, changes, increase=False))
            self.paid_seats = target
        else:
            return
        self.invoice_pending_on_change(at)

    def term_words(self) -> str:
        """The current term in words, ``15 Feb 2025 – 15 Feb 2026`` (once per term)."""
        words = self.term_texts.get(self.term_index)
        if words is None:
            term = self.term()
            words = self.term_texts[self.term_index] = (
                f"{self.day(term.start)} – {self.day(term.end)}"
            )
        return words

    def price_of(self, seats: int) -> tuple[int, int | None]:
        """C(seats) for a term and the unit price at that count, computed once per count."""
        found = self.prices.get(seats)
        if found is None:
            pricing = self.plan.pricing
            found = self.prices[seats] = (pricing.cost(seats), pricing.unit_price(seats))
        return found

    def add_pending(self, lines: Sequence[Line]) -> None:
        self.pending.extend(lines)
        self.pending_total += lines_total(lines)

    def proration(self, at: datetime) -> tuple[Fraction, str]:
        """The share of the current term left at ``at``, and how it was obtained; by day it
        depends on the date only, so it is computed once per date."""
        plan, term, tz = self.plan, self.term(), self.account.timezone
        if plan.increases.proration == "day":
            day = local_date(at, tz)
            key: tuple[int, object] = (self.term_index, day)
            found = self.prorations.get(key)
            if found is None:
                days = self.term_days.get(self.term_index)
                if days is None:
                    days = local_date(term.start, tz), local_date(term.end, tz)
                    self.term_days[self.term_index] = days
                found = self.prorations[key] = days_remaining(days, day)
            return found
        key = (self.term_index, at)
        granularity = plan.increases.proration
        fraction = fraction_remaining(term, at, granularity, tz)
        how = describe_fraction(fraction, term, at, granularity, tz)
        self.prorations[key] = (fraction, how)
        return fraction, how

    def price_change(
        self, old: int, new: int, at: datetime, changes: Sequence[MemberChange], increase: bool
    ) -> list[Line]:
        plan, term = self.plan, self.term()
        if increase and plan.increases.charge == "none":
            return []
        if increase and plan.increases.charge == "full":
            fraction, how = Fraction(1), "the full term"
        else:
            fraction, how = self.proration(at)
        span = Period(at, term.end)
        date = self.day(at)
        moved = tuple(dict.fromkeys(change.member for change in changes))
        cause = (
            f"Seats went from {old} to {new} on {date} ({describe_changes(changes)}); "
            f"priced for {how} of the term {self.term_words()}."
        )
        explanation = Explanation(cause, members=moved, changes=tuple(changes))  # one per change

        def line(kind: str, description: str, quantity: int, cost: int, rate: int | None) -> Line:
            """A line for ``cost`` (signed, minor units, whole term) times the fraction."""
            return Line(
                kind=kind,
                description=description,
                quantity=quantity,
                unit_price=rate,
                amount=round_ratio(cost * fraction.numerator, fraction.denominator),
                period=span,
                explanation=explanation,
            )

        seat = plan.seat_name
        new_cost, new_rate = self.price_of(new)
        old_cost, old_rate = self.price_of(old)
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
            return [line(kind, text, difference, new_cost - old_cost, rate)]
        lines = []
        if new > 0:
            text = f"Remaining time on {new} × {seat} after {date}"
            lines.append(line("remaining_time", text, new, new_cost, new_rate))
        if old > 0:
            text = f"Unused time on {old} × {seat} after {date}"
            lines.append(line("unused_time", text, old, -old_cost, old_rate))
        return lines

    def invoice_pending_on_change(self, at: datetime) -> None:
        mode = self.plan.pending.invoice
        total = self.pending_total
        due_now = mode == "immediately" or (
            mode == "threshold" and total > 0 and total >= self.plan.pending.threshold
        )
        if due_now and self.pending:
            lines, period = self.take_pending(at)
            self.issue("interim", at, period, lines)

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
        seats = max(count, self.floor())
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
            billed = max(so_far, self.floor())
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


def describe_changes(changes: Sequence[MemberChange], shown: int = 5) -> str:
    """Member changes in words, grouped by action: ``m81, m82 activated; m3 deleted``."""
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


def generate_invoices(
    plan: Plan,
    account: Account,
    events: Iterable[TimelineEvent],
    until: datetime,
) -> BillingResult:
    """Every invoice the plan issues for the account from its service start up to ``until``
    (scheduled actions at ``until`` included), in the order they are issued. A credits
    purchase adds its credits when a ``CreditsPaid`` event says it was paid (collection
    decides that: :mod:`seatwise.core.payments`)."""
    return result_of(walk(plan, account, events, until), until)


def result_of(
    run: BillingWalk, until: datetime, resumed_at: datetime | None = None
) -> BillingResult:
    """What a walk taken to ``until`` issued, settled from a zero balance, and its state."""
    proposed = tuple(run.invoices)
    settled, balance = settle(proposed, 0, run.plan.currency)
    state = run.state(until, balance)
    return BillingResult(
        settled, state, run.seats, proposed, tuple(run.alerts), resumed_at, walk=run
    )


def walk(
    plan: Plan,
    account: Account,
    events: Iterable[TimelineEvent],
    until: datetime,
) -> BillingWalk:
    """Walk the timeline up to ``until``; the walk's state is left as it stands then. Events
    after ``until`` have not happened yet as far as the walk knows."""
    ordered = _up_to(events, until)
    seats = SeatTimeline()  # the walk's sweep validates the changes as it takes them
    seats.add_validated([e for e in ordered if isinstance(e, MemberChange)])
    schedule = make_schedule(
        account.service_start, plan.anchor_delay_hours, plan.interval, account.timezone
    )
    run = BillingWalk(
        plan,
        account,
        seats,
        schedule,
        committed=account.committed_seats,
        sweep=SeatSweep(plan.count_invited),
    )
    go_on(run, ordered, until)
    return run


def _up_to(events: Iterable[TimelineEvent], until: datetime) -> list[TimelineEvent]:
    """The events in time order up to ``until``; :class:`TimelineError` if they are not."""
    ordered = list(events)
    for earlier, later in pairwise(ordered):
        if later.at < earlier.at:
            raise TimelineError("time goes backwards", at=later.at)
    return [event for event in ordered if event.at <= until]


def go_on(run: BillingWalk, ordered: Sequence[TimelineEvent], until: datetime) -> None:
    """Take the walk on from where it stands to ``until``: ``ordered`` are the events after
    that instant up to ``until``, in time order (a walk resumed from a checkpoint takes the
    events after the checkpoint's instant: :mod:`seatwise.core.checkpoint`)."""
    schedule = run.schedule
    groups = [(at, list(group)) for at, group in groupby(ordered, key=lambda e: e.at)]
    run.events_by_instant = dict(groups)
    next_group = 0
    while not run.ended:
        action_at = schedule.anniversary(run.next_month)
        while next_group < len(groups) and groups[next_group][0] <= action_at:
            _apply_group(run, *groups[next_group])
            next_group += 1
        if action_at > until or run.ended:  # dunning's final action ends everything at once
            break
        _scheduled_action(run, run.next_month, action_at)
        run.next_month += 1
    for at, group in groups[next_group:]:
        _apply_group(run, at, group)
    run.reached = until


def _apply_group(run: BillingWalk, at: datetime, group: list[TimelineEvent]) -> None:
    """Credit events and members leaving move the wallet in recorded order; then the
    instant's member changes are priced together, and a cancellation takes effect. Dunning's
    final action ends everything at once; after it, member changes are ignored."""
    changes = [event for event in group if isinstance(event, MemberChange)]
    run.sweep.apply(at, changes)
    if len(changes) == len(group):  # member changes only, the usual instant
        for change in changes:
            member_left(run, change)
    else:
        for event in group:
            if isinstance(event, Terminate):
                run.terminate(event)
            elif isinstance(event, MemberChange):
                member_left(run, event)
            elif not isinstance(event, Cancel | Uncancel):
                apply_credit_event(run, event)
        for event in group:
            if isinstance(event, Cancel):
                run.cancel(at)
            elif isinstance(event, Uncancel):
                run.uncancel(at)
    if changes and run.plan.billing == "advance":
        run.on_member_changes(at, changes)


def _scheduled_action(run: BillingWalk, month_index: int, at: datetime) -> None:
    schedule = run.schedule
    if month_index == 0:
        if run.ends_at is not None and run.ends_at <= at:
            run.ended = True
        elif run.plan.billing == "advance":
            run.start(at, [e for e in run.events_at(at) if isinstance(e, MemberChange)])
        else:
            run.started = True
            run.pending_since = at
            run.sweep.begin_cycle(schedule.boundary(1))
        return
    if schedule.is_term_boundary(month_index):
        run.boundary(schedule.term_of_month(month_index), at)
    else:
        run.monthly(month_index, at)
