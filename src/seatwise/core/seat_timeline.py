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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from seatwise.core.errors import TimelineError
from seatwise.core.periods import Period, add_months, iso
from seatwise.core.records import quick_init

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
# Six calendar months are never shorter than this (September to March, or 31 August to 28
# February, clamped): a reactivation this soon is within them without working them out.
SURELY_WITHIN_REACTIVATION = timedelta(days=181)


@dataclass(frozen=True, slots=True)
class Member:
    """A person in an account. ``email`` is where billing mail reaches them, if they have one."""

    id: str
    manage_billing: bool = False
    email: str | None = None


@quick_init
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


def check_change(before: str | None, change: MemberChange, since: datetime | None) -> str:
    """The member's state after ``change``, from state ``before`` held since ``since``;
    :class:`TimelineError` if the change cannot happen then — an illegal transition, or a
    reactivation after the member's data is gone (SPEC 2.2)."""
    after = state_after(before, change)
    if (
        change.action == "reactivate"
        and since is not None
        and change.at - since > SURELY_WITHIN_REACTIVATION  # else within it, by any calendar
    ):
        limit = add_months(since, REACTIVATION_MONTHS, UTC_ZONE)
        if change.at > limit:
            raise TimelineError(
                f"cannot reactivate a member deactivated more than {REACTIVATION_MONTHS} "
                f"months before (on {iso(since)}): their data is gone; add them as a new "
                "member",
                member=change.member,
                at=change.at,
            )
    return after


class SeatTimeline:
    """The validated history of every member of one account."""

    def __init__(self, changes: Iterable[MemberChange] = ()) -> None:
        self._by_member: dict[str, list[StateSpan]] = {}
        self._unbuilt: list[MemberChange] = []  # validated, spans not made yet (add_validated)
        self._last: datetime | None = None
        for change in changes:
            self.apply(change)

    @classmethod
    def continuing(cls, states: Iterable[tuple[str, str, datetime]]) -> SeatTimeline:
        """A timeline that starts from each member's state and since when it holds
        (``(member, state, since)``, members in the order they first appeared): the
        timeline as it stands at a checkpoint, for the changes after it. It answers for
        instants from the latest ``since`` on."""
        timeline = cls()
        for member, state, since in states:
            timeline._by_member[member] = [StateSpan(member, state, since, None)]
            if timeline._last is None or since > timeline._last:
                timeline._last = since
        return timeline

    def apply(self, change: MemberChange) -> None:
        """Record one change; :class:`TimelineError` if the transition is illegal (and then
        the timeline is as it was)."""
        if self._last is not None and change.at < self._last:
            raise TimelineError("time goes backwards", member=change.member, at=change.at)
        spans = self._spans.get(change.member)
        if spans:
            previous = spans[-1]
            after = check_change(previous.state, change, previous.start)
            spans[-1] = StateSpan(previous.member, previous.state, previous.start, change.at)
        else:
            after = check_change(None, change, None)
            spans = self._spans[change.member] = []
        self._last = change.at
        spans.append(StateSpan(change.member, after, change.at, None))

    def add_validated(self, changes: Sequence[MemberChange]) -> None:
        """Record changes that a :class:`~seatwise.core.seat_sweep.SeatSweep` validates (a
        billing walk's, before anyone can ask this timeline anything), in time order after
        those recorded: their spans are made only when the timeline is first asked, so a walk
        whose caller never asks pays nothing for them."""
        if changes:
            self._unbuilt.extend(changes)
            self._last = changes[-1].at

    @property
    def _spans(self) -> dict[str, list[StateSpan]]:
        if self._unbuilt:
            self._build()
        return self._by_member

    def _build(self) -> None:
        by_member, changes, self._unbuilt = self._by_member, self._unbuilt, []
        for change in changes:
            spans = by_member.get(change.member)
            if spans:
                previous = spans[-1]
                after = TRANSITIONS[change.action][previous.state]
                spans[-1] = StateSpan(previous.member, previous.state, previous.start, change.at)
            else:
                after = TRANSITIONS[change.action][None]
                spans = by_member[change.member] = []
            spans.append(StateSpan(change.member, after, change.at, None))

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
