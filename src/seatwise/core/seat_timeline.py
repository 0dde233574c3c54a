"""Members, their states over time, and occupancy (SPEC sections 1 and 2).

A member is ``invited``, ``active``, ``deactivated`` or ``deleted``. The legal transitions:

    (new) ──invite──▶ invited ──activate──▶ active ◀──reactivate── deactivated
    (new) ──activate───────────────────────▶ active ──deactivate──▶ deactivated
    invited, active, deactivated ──delete──▶ deleted (final)

A deactivated (suspended) member can be reactivated, with their data, for
:data:`REACTIVATION_MONTHS` months after the deactivation (SPEC 2.2); later, they come back as
a new member.

A member *holds a seat* while ``active``, or while ``invited`` when the plan counts invited
members. :class:`SeatTimeline` answers the three seat measures of a plan: occupancy at an
instant, the peak occupancy over a period, and the distinct members holding a seat at any
instant of a period (intervals are half-open; a hold of zero length counts for nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from seatwise.core.errors import TimelineError
from seatwise.core.periods import Period, add_months, iso

UTC_ZONE = ZoneInfo("UTC")

INVITED, ACTIVE, DEACTIVATED, DELETED = "invited", "active", "deactivated", "deleted"
STATES = (INVITED, ACTIVE, DEACTIVATED, DELETED)

# action -> {state before (None: the member does not exist yet) -> state after}
TRANSITIONS: dict[str, dict[str | None, str]] = {
    "invite": {None: INVITED},
    "activate": {None: ACTIVE, INVITED: ACTIVE},
    "deactivate": {ACTIVE: DEACTIVATED},
    "reactivate": {DEACTIVATED: ACTIVE},
    "delete": {INVITED: DELETED, ACTIVE: DELETED, DEACTIVATED: DELETED},
}
MEMBER_ACTIONS = tuple(TRANSITIONS)
REACTIVATION_MONTHS = 6


@dataclass(frozen=True, slots=True)
class Member:
    """A person in an account. ``email`` is where billing mail reaches them, if they have one."""

    id: str
    manage_billing: bool = False
    email: str | None = None


@dataclass(frozen=True, slots=True)
class MemberChange:
    """At ``at``, ``action`` (a key of :data:`TRANSITIONS`) happens to member ``member``."""

    at: datetime
    member: str
    action: str


class StateSpan(NamedTuple):
    """Member ``member`` is in ``state`` over ``[start, end)`` (``end`` None: still is). A named
    tuple, immutable as a frozen dataclass and made in half the time: a timeline makes two per
    change."""

    member: str
    state: str
    start: datetime
    end: datetime | None


def holds_seat(state: str, count_invited: bool) -> bool:
    return state == ACTIVE or (count_invited and state == INVITED)


def state_after(before: str | None, change: MemberChange) -> str:
    """A member's state after ``change`` from state ``before`` (None: not a member yet);
    :class:`TimelineError` if the action cannot happen to a member in that state. For a
    member's first change, this is all a :class:`SeatTimeline` checks."""
    moves = TRANSITIONS.get(change.action)
    if moves is None:
        raise TimelineError(f"unknown action {change.action!r}", member=change.member, at=change.at)
    after = moves.get(before)
    if after is None:
        if before is None:
            reason = f"cannot {change.action} a member who does not exist"
        else:
            reason = f"cannot {change.action} a member who is {before}"
        raise TimelineError(reason, member=change.member, at=change.at)
    return after


class SeatTimeline:
    """The validated history of every member of one account."""

    def __init__(self, changes: Iterable[MemberChange]) -> None:
        self._spans: dict[str, list[StateSpan]] = {}
        self._last: datetime | None = None
        for change in changes:
            self.apply(change)

    @classmethod
    def continuing(cls, states: Iterable[tuple[str, str, datetime]]) -> SeatTimeline:
        """A timeline that starts from each member's state and since when it holds
        (``(member, state, since)``, members in the order they first appeared): the
        timeline as it stands at a checkpoint, for the changes after it. It answers for
        instants from the latest ``since`` on."""
        timeline = cls(())
        for member, state, since in states:
            timeline._spans[member] = [StateSpan(member, state, since, None)]
            if timeline._last is None or since > timeline._last:
                timeline._last = since
        return timeline

    def apply(self, change: MemberChange) -> None:
        """Record one change; :class:`TimelineError` if the transition is illegal (and then
        the timeline is as it was)."""
        if self._last is not None and change.at < self._last:
            raise TimelineError("time goes backwards", member=change.member, at=change.at)
        spans = self._spans.get(change.member)
        after = state_after(spans[-1].state if spans else None, change)
        if change.action == "reactivate" and spans:
            limit = add_months(spans[-1].start, REACTIVATION_MONTHS, UTC_ZONE)
            if change.at > limit:
                raise TimelineError(
                    f"cannot reactivate a member deactivated more than {REACTIVATION_MONTHS} "
                    f"months before (on {iso(spans[-1].start)}): their data is gone; add them "
                    "as a new member",
                    member=change.member,
                    at=change.at,
                )
        self._last = change.at
        if spans:
            previous = spans[-1]
            spans[-1] = StateSpan(previous.member, previous.state, previous.start, change.at)
        self._spans.setdefault(change.member, []).append(
            StateSpan(change.member, after, change.at, None)
        )

    def state_at(self, member: str, instant: datetime) -> str | None:
        """The member's state at ``instant`` (changes at ``instant`` included), None if not yet."""
        state = None
        for span in self._spans.get(member, []):
            if span.start <= instant:
                state = span.state
        return state

    def spans_of(self, member: str) -> list[StateSpan]:
        """The member's states over time, oldest first (none for an unknown member)."""
        return list(self._spans.get(member, []))

    def holders_at(self, instant: datetime, count_invited: bool) -> list[str]:
        """Members holding a seat at ``instant``, changes at that instant applied."""
        return [
            member
            for member in self._spans
            if (state := self.state_at(member, instant)) is not None
            and holds_seat(state, count_invited)
        ]

    def occupancy(self, instant: datetime, count_invited: bool) -> int:
        return len(self.holders_at(instant, count_invited))

    def seat_spans(self, period: Period, count_invited: bool) -> list[StateSpan]:
        """Spans during which a member holds a seat that overlap ``period`` for a positive time."""
        return [
            span
            for spans in self._spans.values()
            for span in spans
            if holds_seat(span.state, count_invited)
            and span.start < period.end
            and (span.end is None or span.end > period.start)
            and span.start != span.end
        ]

    def holders_during(self, period: Period, count_invited: bool) -> list[str]:
        """Distinct members holding a seat at any instant of ``[start, end)``, first seen first."""
        seen: dict[str, None] = {}
        for span in sorted(self.seat_spans(period, count_invited), key=lambda s: s.start):
            seen.setdefault(span.member, None)
        return list(seen)

    def peak_during(self, period: Period, count_invited: bool) -> int:
        """The greatest occupancy at any instant of ``[start, end)``."""
        instants = {period.start}
        instants.update(
            span.start
            for spans in self._spans.values()
            for span in spans
            if period.start < span.start < period.end
        )
        return max(self.occupancy(instant, count_invited) for instant in instants)


class SeatSweep:
    """Occupancy kept as a walk moves forward through time, one group of changes at a time.

    :class:`SeatTimeline` answers questions about any instant by looking at every member;
    a billing walk only ever asks about the instant it has reached, so it keeps the answers
    as running state instead: each member's state, how many hold a seat, and, for the cycle
    under way, the distinct members who held one and the peak. Applying a change is O(1), so
    walking N changes is O(N). The answers are the timeline's, order included: members in
    the order they first appeared; a cycle's distinct holders in the order their seat began
    (ties in the order members first appeared).
    """

    def __init__(self, count_invited: bool) -> None:
        self.count_invited = count_invited
        # the states that hold a seat, by holds_seat's rule, asked of a set on every change
        self._holding = frozenset(s for s in STATES if holds_seat(s, count_invited))
        self._state: dict[str, str] = {}  # every member, in the order they first appeared
        self._since: dict[str, datetime] = {}  # when each member's current state began
        self._order: dict[str, int] = {}
        self.count = 0  # members holding a seat now
        self._cycle_end: datetime | None = None
        self._cycle_seen: dict[str, datetime] = {}  # holders in the cycle, and since when
        self._cycle_peak = 0

    def apply(self, at: datetime, changes: Iterable[MemberChange]) -> None:
        """The changes at ``at`` (validated by a :class:`SeatTimeline`), all at once: a
        seat held for no time (taken and left at one instant) counts for nothing."""
        holding, state = self._holding, self._state
        touched: dict[str, None] = {}
        for change in changes:
            member = change.member
            before = state.get(member)
            after = TRANSITIONS[change.action][before]
            self.count += (after in holding) - (before in holding)
            if before is None:
                self._order[member] = len(self._order)
            state[member] = after
            self._since[member] = at
            touched[member] = None
        if self._cycle_end is not None and at >= self._cycle_end:
            return  # the next cycle's: it begins with whoever holds a seat then
        seen = self._cycle_seen
        starting = [m for m in touched if state[m] in holding and m not in seen]
        if len(starting) > 1:
            starting.sort(key=self._order.__getitem__)
        for member in starting:
            seen[member] = at
        if self.count > self._cycle_peak:
            self._cycle_peak = self.count

    def snapshot(self) -> dict[str, Any]:
        """The sweep as data (a checkpoint's part: :mod:`seatwise.core.checkpoint`), read back
        by :meth:`from_snapshot`."""
        return {
            "state": self._state,
            "since": self._since,
            "order": self._order,
            "count": self.count,
            "cycle_end": self._cycle_end,
            "cycle_seen": self._cycle_seen,
            "cycle_peak": self._cycle_peak,
        }

    @classmethod
    def from_snapshot(cls, count_invited: bool, data: dict[str, Any]) -> SeatSweep:
        """A sweep from :meth:`snapshot`'s data."""
        sweep = cls(count_invited)
        sweep._state = {str(member): str(state) for member, state in data["state"].items()}
        sweep._since = dict(data["since"])
        sweep._order = {str(member): int(order) for member, order in data["order"].items()}
        sweep.count = int(data["count"])
        sweep._cycle_end = data["cycle_end"]
        sweep._cycle_seen = dict(data["cycle_seen"])
        sweep._cycle_peak = int(data["cycle_peak"])
        return sweep

    def state(self, member: str) -> str | None:
        return self._state.get(member)

    def states(self) -> dict[str, str]:
        """Every member's state now, in the order they first appeared."""
        return dict(self._state)

    def since(self, member: str) -> datetime:
        """When the member's state now began."""
        return self._since[member]

    def holders(self) -> list[str]:
        """The members holding a seat now, in the order they first appeared."""
        holding = self._holding
        return [member for member, state in self._state.items() if state in holding]

    def begin_cycle(self, end: datetime) -> None:
        """A cycle begins now and ends at ``end``: whoever holds a seat now is in it."""
        now = sorted(self.holders(), key=lambda m: (self._since[m], self._order[m]))
        self._cycle_seen = {member: self._since[member] for member in now}
        self._cycle_peak = self.count
        self._cycle_end = end

    def cycle_holders(self, before: datetime | None = None) -> list[str]:
        """The distinct members who held a seat in the cycle (only those whose seat began
        before ``before``, if given)."""
        return [m for m, since in self._cycle_seen.items() if before is None or since < before]

    @property
    def cycle_peak(self) -> int:
        """The greatest occupancy at any instant of the cycle so far."""
        return self._cycle_peak
