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
is stored as JSON of the core's own records (:func:`encode` / :func:`decode`); nothing but the
types listed in :data:`_RECORDS` is ever rebuilt from it.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from functools import lru_cache
from importlib import metadata
from types import MappingProxyType
from typing import Any

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
from seatwise.core.errors import SeatwiseError
from seatwise.core.invoicing import Explanation, Line
from seatwise.core.periods import Period, make_schedule
from seatwise.core.plans import Plan
from seatwise.core.seat_timeline import MemberChange, SeatSweep, SeatTimeline

# Bump when a rule of the walk changes what a saved state means: every checkpoint is then
# ignored (and replaced after the next run from the start).
CHECKPOINT_FORMAT = 1

# The walk's fields a checkpoint keeps; the others are the plan and account (given again),
# the timeline (rebuilt), what the run produced (invoices, alerts) and caches.
_STATE_FIELDS = (
    "committed",
    "paid_seats",
    "term_index",
    "next_month",
    "started",
    "ended",
    "ends_at",
    "pending",
    "pending_total",
    "pending_since",
    "terminated",
    "wallet",
    "awaiting_payment",
    "overage",
)
_SWEEP_FIELDS = (
    "count_invited",
    "_state",
    "_since",
    "_order",
    "count",
    "_cycle_end",
    "_cycle_seen",
    "_cycle_peak",
)
_RECORDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        Line,
        Explanation,
        Period,
        MemberChange,
        Terminate,
        Wallet,
        Reservation,
        CreditEntry,
    )
}


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
        repr(plan),
        account.service_start.isoformat(),
        account.committed_seats,
        account.timezone.key,
    )
    return hashlib.sha256(repr(terms).encode()).hexdigest()


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
    state = {name: encode(getattr(run, name)) for name in _STATE_FIELDS}
    state["sweep"] = [encode(vars(run.sweep)[name]) for name in _SWEEP_FIELDS]
    return Checkpoint(
        run.reached,
        events,
        fingerprint(run.plan, run.account),
        json.dumps(state, separators=(",", ":")),
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
        changes = [event for event in later if isinstance(event, MemberChange)]
        for change in changes:
            run.seats.apply(change)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"unreadable checkpoint: {error!r}") from None
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


def _restore(plan: Plan, account: Account, checkpoint: Checkpoint) -> BillingWalk:
    state = json.loads(checkpoint.state)
    sweep = SeatSweep(plan.count_invited)
    for name, value in zip(_SWEEP_FIELDS, state.pop("sweep"), strict=True):
        setattr(sweep, name, decode(value))
    seats = SeatTimeline.continuing(
        (member, status, sweep.since(member)) for member, status in sweep.states().items()
    )
    schedule = make_schedule(
        account.service_start, plan.anchor_delay_hours, plan.interval, account.timezone
    )
    values = {name: decode(state[name]) for name in _STATE_FIELDS}
    run = BillingWalk(plan, account, seats, schedule, sweep=sweep, **values)
    run.reached = checkpoint.at
    return run


# -- the state as JSON ------------------------------------------------------------------------
# Scalars stay as they are; every other value is a one-key object saying what it is:
# {"t": [...]} tuple, {"l": [...]} list, {"d": iso} instant, {"f": [...]} frozenset,
# {"m": [[key, value], ...]} dict (any keys, order kept), {"p": ...} read-only mapping,
# {"r": [name, [field values]]} one of the core's records.


def encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        return {"d": value.isoformat()}
    if isinstance(value, tuple):
        return {"t": [encode(item) for item in value]}
    if isinstance(value, list):
        return {"l": [encode(item) for item in value]}
    if isinstance(value, frozenset):
        return {"f": sorted((encode(item) for item in value), key=json.dumps)}
    if isinstance(value, MappingProxyType):
        return {"p": encode(dict(value))}
    if isinstance(value, dict):
        return {"m": [[encode(key), encode(item)] for key, item in value.items()]}
    name = type(value).__name__
    if is_dataclass(value) and _RECORDS.get(name) is type(value):
        return {"r": [name, [encode(getattr(value, f.name)) for f in fields(value)]]}
    raise CheckpointError(f"a checkpoint cannot hold {name}")


def decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((tag, inner),) = value.items()
    if tag == "d":
        return datetime.fromisoformat(inner)
    if tag == "t":
        return tuple(decode(item) for item in inner)
    if tag == "l":
        return [decode(item) for item in inner]
    if tag == "f":
        return frozenset(decode(item) for item in inner)
    if tag == "p":
        return MappingProxyType(decode(inner))
    if tag == "m":
        return {decode(key): decode(item) for key, item in inner}
    if tag == "r":
        name, values = inner
        return _RECORDS[name](*(decode(item) for item in values))
    raise CheckpointError(f"unknown value in a checkpoint: {tag!r}")
