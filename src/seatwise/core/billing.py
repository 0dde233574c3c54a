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
from datetime import datetime
from itertools import pairwise

from seatwise.core.account import Account, Cancel, Terminate, Uncancel
from seatwise.core.billing_walk import AccountState, BillingWalk, TimelineEvent
from seatwise.core.change_pricing import on_member_changes
from seatwise.core.credit_billing import (
    CreditAlert,
    apply_credit_event,
    member_left,
)
from seatwise.core.errors import TimelineError
from seatwise.core.invoicing import Invoice, settle
from seatwise.core.periods import make_schedule
from seatwise.core.plans import Plan
from seatwise.core.seat_sweep import SeatSweep
from seatwise.core.seat_timeline import MemberChange, SeatTimeline

__all__ = [
    "AccountState",
    "BillingResult",
    "BillingWalk",
    "TimelineEvent",
    "generate_invoices",
    "go_on",
    "result_of",
    "walk",
]


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
    run.timeline = ordered
    taken, count = 0, len(ordered)  # the events taken so far
    while not run.ended:
        action_at = schedule.anniversary(run.next_month)
        taken = _apply_up_to(run, ordered, taken, count, action_at)
        if action_at > until or run.ended:  # dunning's final action ends everything at once
            break
        _scheduled_action(run, run.next_month, action_at)
        run.next_month += 1
    if taken < count:  # after the walk's end, or its last action: whatever is left
        _apply_up_to(run, ordered, taken, count, ordered[-1].at)
    run.reached = until


def _apply_up_to(
    run: BillingWalk, ordered: Sequence[TimelineEvent], taken: int, count: int, end: datetime
) -> int:
    """Apply the events from index ``taken`` up to ``end`` (included), an instant's together;
    returns the index of the first event not taken. Nothing is kept per instant: a walk of
    many events would otherwise hold two containers an event for Python's cycle collector
    to go over again and again. An instant of one member change (nearly every instant) is
    taken here, as :func:`_apply_group` would take it, without sorting out a group."""
    apply_one, advance = run.sweep.apply_one, run.plan.billing == "advance"
    while taken < count:
        event = ordered[taken]
        at = event.at
        if at > end:
            break
        after = taken + 1
        if after < count and ordered[after].at == at:  # several events at one instant
            while after < count and ordered[after].at == at:
                after += 1
            _apply_group(run, at, ordered[taken:after])
        elif isinstance(event, MemberChange):
            apply_one(at, event)
            if run.wallet.open:  # a member leaving releases what they had reserved
                member_left(run, event)
            if advance:
                on_member_changes(run, at, (event,))
        else:
            _apply_group(run, at, (event,))
        taken = after
    return taken


def _apply_group(run: BillingWalk, at: datetime, group: Sequence[TimelineEvent]) -> None:
    """Credit events and members leaving move the wallet in recorded order; then the
    instant's member changes are priced together, and a cancellation takes effect. Dunning's
    final action ends everything at once; after it, member changes are ignored."""
    changes = [event for event in group if isinstance(event, MemberChange)]
    run.sweep.apply(at, changes)
    if len(changes) == len(group):  # member changes only, the usual instant
        if run.wallet.open:  # members leaving release what they had reserved
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
        on_member_changes(run, at, changes)


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
