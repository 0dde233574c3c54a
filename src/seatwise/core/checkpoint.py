"""Checkpoints: where a billing walk stood at the instant a run billed an account up to, so the
next run goes on from there instead of walking the whole timeline again.

Billing stays a pure function of plan and timeline (:func:`~seatwise.core.billing.walk`); a
checkpoint is only a saved position of that function. :func:`resume` takes the walk on from
it with the events after its instant, and gives exactly the walk from the start — as long as
the checkpoint is *current*:

* it was taken with the same rules (:data:`CHECKPOINT_FORMAT` and the package's version), the
  same plan and the same account terms (start, committed seats, time zone): the fingerprint;
* no event dated at or before its instant was recorded since (an event reported late): the
  number of such events is the one it counted;
* the walk is taken forward, never back (``until`` not before its instant).

Otherwise :func:`resume` answers None and the caller walks from the start, as always. The state
is stored as JSON (written by orjson, read field by field into the core's own records: nothing
but those types is ever built from it); an unreadable one is :class:`CheckpointError`.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import metadata
from itertools import pairwise
from types import MappingProxyType
from typing import Any

import orjson

from seatwise.core.account import Account, Terminate
from seatwise.core.billing import (
    BillingResult,
    BillingWalk,
    TimelineEvent,
    generate_invoices,
    go_on,
    result_of,
)
from seatwise.core.credits import CreditEntry, Reservation, Wallet
from seatwise.core.errors import SeatwiseError, TimelineError
from seatwise.core.invoicing import Explanation, Line, lines_total
from seatwise.core.periods import Period, make_schedule
from seatwise.core.plans import Plan
from seatwise.core.seat_sweep import SeatSweep
from seatwise.core.seat_timeline import MemberChange, SeatTimeline

# Bump when a rule of the walk changes what a saved state means, or how it is written: every
# checkpoint is then ignored (and replaced after the next run from the start).
CHECKPOINT_FORMAT = 2

# The walk's scalar fields a checkpoint keeps as they are; the others it keeps are written and
# read by :func:`_state` and :func:`_restore`. The rest of the walk is the plan and account
# (given again), the timeline (rebuilt), what the run produced (invoices, alerts), the sum of
# its pending items (summed again) and caches.
_SCALARS = ("committed", "paid_seats", "term_index", "next_month", "started", "ended")


class CheckpointError(SeatwiseError):
    """A stored checkpoint that cannot be read (the caller walks from the start)."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The walk's state at ``at``, having taken in ``events`` timeline events (those dated at
    or before ``at``), made under ``fingerprint``. A store reads an account's timeline from
    it on: the events dated after ``at`` or recorded after ``last_seq`` (late, if dated
    before: then the whole timeline)."""

    at: datetime
    events: int
    fingerprint: str
    state: str  # JSON
    last_seq: int = 0  # the store's number of the last event recorded when it was taken

    def __repr__(self) -> str:
        return f"Checkpoint(at={self.at.isoformat()}, events={self.events})"


def fingerprint(plan: Plan, account: Account) -> str:
    """What a walk's state depends on besides the timeline: rules, plan, account terms."""
    terms = (
        CHECKPOINT_FORMAT,
        _package_version(),
        _plan_text(plan),
        account.service_start.isoformat(),
        account.committed_seats,
        account.timezone.key,
    )
    return hashlib.sha256(repr(terms).encode()).hexdigest()


@lru_cache(maxsize=64)
def _plan_text(plan: Plan) -> str:
    """The plan in full, as the fingerprint holds it: remembered (a plan is immutable, and
    a run's accounts share a few, each written out at every checkpoint otherwise)."""
    return repr(plan)


@lru_cache(maxsize=1)
def _package_version() -> str:
    try:
        return metadata.version("seatwise")
    except metadata.PackageNotFoundError:  # run from a source tree: no release to tell apart
        return "source"


def take_checkpoint(run: BillingWalk, events: int, last_seq: int = 0) -> Checkpoint:
    """The checkpoint of a walk taken to ``run.reached``, having taken in ``events`` timeline
    events (:func:`count_up_to`); ``last_seq`` is the store's number of the last event
    recorded then (an event recorded later has a greater one)."""
    if run.reached is None:
        raise CheckpointError("the walk has not been taken anywhere yet")
    return Checkpoint(
        run.reached,
        events,
        fingerprint(run.plan, run.account),
        orjson.dumps(_state(run)).decode(),
        last_seq,
    )


def resume(
    plan: Plan,
    account: Account,
    events: Sequence[TimelineEvent],
    until: datetime,
    checkpoint: Checkpoint,
    only_after: bool = False,
) -> BillingWalk | None:
    """The walk to ``until`` gone on from ``checkpoint`` with the events after its instant;
    None if the checkpoint is not current. ``events`` is the whole timeline in time order —
    or, ``only_after``, a timeline the caller read from the checkpoint on: every event dated
    after its instant (any dated at or before it are ignored), none recorded late."""
    if until < checkpoint.at or checkpoint.fingerprint != fingerprint(plan, account):
        return None
    if only_after:
        later = [event for event in events if checkpoint.at < event.at <= until]
    else:
        start = count_up_to(events, checkpoint.at)
        if start != checkpoint.events:
            return None  # an event dated at or before the checkpoint was recorded since
        later = [event for event in events[start:] if event.at <= until]
    try:
        run = _restore(plan, account, checkpoint)
    except (AttributeError, LookupError, TypeError, ValueError) as error:  # JSON errors too
        raise CheckpointError(f"unreadable checkpoint: {error!r}") from None
    for earlier, event in pairwise(later):
        if event.at < earlier.at:
            raise TimelineError("time goes backwards", at=event.at)
    # validated by the walk's sweep as a walk from the start validates them
    run.seats.add_validated([event for event in later if isinstance(event, MemberChange)])
    go_on(run, later, until)
    return run


def generate_from(
    plan: Plan,
    account: Account,
    events: Sequence[TimelineEvent],
    until: datetime,
    checkpoint: Checkpoint | None,
) -> BillingResult:
    """:func:`~seatwise.core.billing.generate_invoices` gone on from ``checkpoint`` when it is
    current (the result proposes only the invoices after its instant, ``resumed_at``), from
    the start otherwise."""
    if checkpoint is not None:
        try:
            run = resume(plan, account, events, until, checkpoint)
        except CheckpointError:
            run = None
        if run is not None:
            return result_of(run, until, resumed_at=checkpoint.at)
    return generate_invoices(plan, account, events, until)


def count_up_to(events: Sequence[TimelineEvent], at: datetime) -> int:
    """How many of a timeline's events (in time order) are dated at or before ``at``."""
    return bisect_right(events, at, key=lambda event: event.at)


# -- the state as JSON ------------------------------------------------------------------------
# orjson writes the core's records (dataclasses) as objects of their fields and instants as
# ISO 8601 text; reading them back builds each record by name, so nothing but these types
# ever comes out of a checkpoint. Lines — most of a state: the pending items — are written as
# arrays by position, and an explanation shared by several lines (a remaining/unused pair)
# once: orjson writes a slotted record several times slower than an array, and a line holds
# four (itself, its period, its explanation and the changes in it).


def _state(run: BillingWalk) -> dict[str, Any]:
    wallet = run.wallet
    return {
        **{name: getattr(run, name) for name in _SCALARS},
        "ends_at": run.ends_at,
        "pending_since": run.pending_since,
        "pending": _lines_data(run.pending),
        "overage": _lines_data(run.overage),
        "terminated": run.terminated,
        "awaiting_payment": list(run.awaiting_payment.items()),
        "wallet": {
            "balance": wallet.balance,
            "assigned": wallet.assigned,
            "open": list(wallet.open.values()),
            "started": sorted(wallet.started),
            "entries": wallet.entries,
        },
        "sweep": run.sweep.snapshot(),
    }


def _restore(plan: Plan, account: Account, checkpoint: Checkpoint) -> BillingWalk:
    state = orjson.loads(checkpoint.state)
    saved = state["sweep"]
    sweep = SeatSweep.from_snapshot(
        plan.count_invited,
        {
            **saved,
            "since": {member: _instant(at) for member, at in saved["since"].items()},
            "cycle_end": _maybe_instant(saved["cycle_end"]),
            "cycle_seen": {member: _instant(at) for member, at in saved["cycle_seen"].items()},
        },
    )
    seats = SeatTimeline.continuing(
        (member, status, sweep.since(member)) for member, status in sweep.states().items()
    )
    schedule = make_schedule(
        account.service_start, plan.anchor_delay_hours, plan.interval, account.timezone
    )
    wallet = state["wallet"]
    opened = [_reservation(item) for item in wallet["open"]]
    pending = _lines(state["pending"])
    terminated = state["terminated"]
    run = BillingWalk(
        plan,
        account,
        seats,
        schedule,
        sweep=sweep,
        **{name: state[name] for name in _SCALARS},
        pending_total=lines_total(pending),
        ends_at=_maybe_instant(state["ends_at"]),
        pending_since=_maybe_instant(state["pending_since"]),
        pending=pending,
        overage=_lines(state["overage"]),
        terminated=None
        if terminated is None
        else Terminate(_instant(terminated["at"]), str(terminated["action"])),
        awaiting_payment={_instant(at): int(credits) for at, credits in state["awaiting_payment"]},
        wallet=Wallet(
            int(wallet["balance"]),
            int(wallet["assigned"]),
            MappingProxyType({(r.member, r.content): r for r in opened}),
            frozenset((str(member), str(content)) for member, content in wallet["started"]),
            tuple(_entry(item) for item in wallet["entries"]),
        ),
    )
    run.reached = checkpoint.at
    return run


def _instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(f"{text} has no time zone")
    return instant


def _maybe_instant(text: str | None) -> datetime | None:
    return None if text is None else _instant(text)


def _lines_data(lines: Sequence[Line]) -> dict[str, list[Any]]:
    """Lines as arrays: ``[kind, description, quantity, unit_price, amount, period start,
    period end, explanation, corrects]``, the explanation the index of one of
    ``explanations`` (``[summary, members, [[at, member, action], …]]``), each written once."""
    index_of: dict[int, int] = {}  # an explanation's id (the lines keep it alive meanwhile)
    explanations: list[Any] = []
    rows = []
    for line in lines:
        explanation, period = line.explanation, line.period
        index = index_of.get(id(explanation))
        if index is None:
            index = index_of[id(explanation)] = len(explanations)
            changes = [(c.at, c.member, c.action) for c in explanation.changes]
            explanations.append((explanation.summary, explanation.members, changes))
        rows.append(
            (line.kind, line.description, line.quantity, line.unit_price, line.amount,
             period.start, period.end, index, line.corrects)
        )  # fmt: skip
    return {"lines": rows, "explanations": explanations}


def _lines(data: dict[str, Any]) -> list[Line]:
    """What :func:`_lines_data` wrote: the lines, those that shared an explanation sharing it
    again."""
    explanations = [
        Explanation(
            str(summary),
            tuple(str(member) for member in members),
            tuple(MemberChange(_instant(at), str(who), str(action)) for at, who, action in changes),
        )
        for summary, members, changes in data["explanations"]
    ]
    lines = []
    for row in data["lines"]:
        kind, description, quantity, unit_price, amount, start, end, explanation, corrects = row
        if not 0 <= int(explanation) < len(explanations):
            raise IndexError(f"no explanation {explanation}")
        lines.append(
            Line(
                str(kind),
                str(description),
                int(quantity),
                None if unit_price is None else int(unit_price),
                int(amount),
                Period(_instant(start), _instant(end)),
                explanations[int(explanation)],
                None if corrects is None else str(corrects),
            )
        )
    return lines


def _reservation(data: dict[str, Any]) -> Reservation:
    return Reservation(
        str(data["member"]), str(data["content"]), int(data["credits"]), _instant(data["at"])
    )


def _entry(data: dict[str, Any]) -> CreditEntry:
    return CreditEntry(
        _instant(data["at"]),
        str(data["kind"]),
        int(data["credits"]),
        int(data["balance_change"]),
        int(data["assigned_change"]),
        data["member"],
        data["content"],
        str(data["note"]),
    )
