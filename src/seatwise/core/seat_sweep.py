"""Occupancy as a billing walk moves forward through time (SPEC sections 1 and 2).

:class:`~seatwise.core.seat_timeline.SeatTimeline` answers questions about any instant by
looking at every member; a walk only ever asks about the instant it has reached, so
:class:`SeatSweep` keeps the answers as running state and validates each change on the way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from seatwise.core.seat_timeline import (
    STATES,
    TRANSITIONS,
    MemberChange,
    check_change,
    holds_seat,
)

_NO_MOVES: Mapping[str | None, str] = {}


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
        self._order: dict[str, int] = {}  # each member's place in ``_state``: a sort key
        self.count = 0  # members holding a seat now
        self._cycle_end: datetime | None = None
        self._cycle_seen: dict[str, datetime] = {}  # holders in the cycle, and since when
        self._cycle_peak = 0

    def apply(self, at: datetime, changes: Iterable[MemberChange]) -> None:
        """The changes at ``at``, in recorded order, all at once: a seat held for no time
        (taken and left at one instant) counts for nothing. Each change is validated as
        :meth:`SeatTimeline.apply` validates it (:class:`TimelineError`, and then the sweep is
        of no further use): a billing walk's timeline is validated here, once."""
        touched = {self._take(at, change): None for change in changes}
        if self._cycle_end is not None and at >= self._cycle_end:
            return  # the next cycle's: it begins with whoever holds a seat then
        holding, state, seen = self._holding, self._state, self._cycle_seen
        starting = [m for m in touched if state[m] in holding and m not in seen]
        starting.sort(key=self._order.__getitem__)
        for member in starting:
            seen[member] = at
        if self.count > self._cycle_peak:
            self._cycle_peak = self.count

    def apply_one(self, at: datetime, change: MemberChange) -> None:
        """:meth:`apply` of an instant with one change (nearly every instant): the same
        answers, without the bookkeeping that orders several members starting at once."""
        member = self._take(at, change)
        if self._cycle_end is not None and at >= self._cycle_end:
            return  # the next cycle's: it begins with whoever holds a seat then
        if self._state[member] in self._holding and member not in self._cycle_seen:
            self._cycle_seen[member] = at
        if self.count > self._cycle_peak:
            self._cycle_peak = self.count

    def _take(self, at: datetime, change: MemberChange) -> str:
        """One change, validated, into the members' states and the count; its member."""
        member, state = change.member, self._state
        before = state.get(member)
        after = TRANSITIONS.get(change.action, _NO_MOVES).get(before)
        if after is None or change.action == "reactivate":
            after = check_change(before, change, self._since.get(member))
        holding = self._holding
        self.count += (after in holding) - (before in holding)
        if before is None:
            self._order[member] = len(self._order)
        state[member] = after
        self._since[member] = at
        return member

    def snapshot(self) -> dict[str, Any]:
        """The sweep as data (a checkpoint's part: :mod:`seatwise.core.checkpoint`), read back
        by :meth:`from_snapshot`; the members' order is that of ``state``."""
        return {
            "state": self._state,
            "since": self._since,
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
        sweep._order = {member: place for place, member in enumerate(sweep._state)}
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
        # by when their seat began, ties in the order they first appeared (two stable sorts
        # keyed by the dicts themselves: a key function of Python's cost a call per holder)
        now = sorted(self.holders(), key=self._order.__getitem__)
        now.sort(key=self._since.__getitem__)
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
