from datetime import UTC, datetime, timedelta
from itertools import groupby

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatwise.core.errors import TimelineError
from seatwise.core.periods import Period, add_months
from seatwise.core.seat_sweep import SeatSweep
from seatwise.core.seat_timeline import (
    REACTIVATION_MONTHS,
    SURELY_WITHIN_REACTIVATION,
    TRANSITIONS,
    UTC_ZONE,
    MemberChange,
    SeatTimeline,
)


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


def timeline(*changes: tuple[int, str, str]) -> SeatTimeline:
    return SeatTimeline(MemberChange(at(day), member, action) for day, member, action in changes)


def test_states_over_time() -> None:
    seats = timeline(
        (1, "a", "invite"),
        (3, "a", "activate"),
        (5, "a", "deactivate"),
        (7, "a", "reactivate"),
        (9, "a", "delete"),
    )
    assert [seats.state_at("a", at(d)) for d in (1, 2, 3, 5, 7, 9)] == [
        "invited",
        "invited",
        "active",
        "deactivated",
        "active",
        "deleted",
    ]
    assert seats.state_at("a", datetime(2024, 2, 1, tzinfo=UTC)) is None


# changes a timeline and a walk's sweep both refuse, and the reason they give
REFUSED = [
    ([(1, "a", "deactivate")], "cannot deactivate a member who does not exist"),
    ([(1, "a", "activate"), (2, "a", "activate")], "cannot activate a member who is active"),
    (
        [(1, "a", "activate"), (2, "a", "delete"), (3, "a", "reactivate")],
        "cannot reactivate a member who is deleted",
    ),
    ([(1, "a", "invite"), (2, "a", "deactivate")], "cannot deactivate a member who is invited"),
    ([(1, "a", "activate"), (1, "a", "activate")], "cannot activate a member who is active"),
    ([(1, "a", "activate"), (1, "a", "shout")], "unknown action 'shout'"),
    ([(1, "a", "activate"), (2, "a", "shout")], "unknown action 'shout'"),
]


@pytest.mark.parametrize(
    ("changes", "message"),
    [*REFUSED, ([(2, "a", "activate"), (1, "b", "activate")], "time goes backwards")],
)
def test_illegal_transitions_name_member_and_instant(
    changes: list[tuple[int, str, str]], message: str
) -> None:
    with pytest.raises(TimelineError) as caught:
        timeline(*changes)
    assert message in str(caught.value)
    assert "member '" in str(caught.value) and "2024-03-0" in str(caught.value)


def test_occupancy_with_and_without_invited() -> None:
    seats = timeline((1, "a", "activate"), (1, "b", "invite"), (2, "c", "activate"))
    assert seats.occupancy(at(1), count_invited=False) == 1
    assert seats.occupancy(at(1), count_invited=True) == 2
    assert seats.occupancy(at(2), count_invited=False) == 2


def test_distinct_holders_and_peak_over_a_half_open_period() -> None:
    seats = timeline(
        (1, "a", "activate"),
        (3, "a", "delete"),
        (4, "b", "activate"),
        (10, "c", "activate"),
        (12, "d", "activate"),
        (12, "d", "delete"),
    )
    cycle = Period(at(2), at(10))
    assert seats.holders_during(cycle, False) == ["a", "b"]  # c starts at the end: not in
    assert seats.peak_during(cycle, False) == 1
    assert seats.holders_during(Period(at(3), at(20)), False) == ["b", "c"]  # a left at 3
    assert "d" not in seats.holders_during(Period(at(1), at(20)), False)  # zero-length hold


def test_a_member_can_be_reactivated_within_six_months_only() -> None:
    t0 = datetime(2024, 1, 31, 9, tzinfo=UTC)
    base = [MemberChange(t0, "ana", "activate"), MemberChange(t0, "ana", "deactivate")]
    SeatTimeline([*base, MemberChange(datetime(2024, 7, 31, 9, tzinfo=UTC), "ana", "reactivate")])
    with pytest.raises(TimelineError, match="more than 6 months before"):
        SeatTimeline(
            [*base, MemberChange(datetime(2024, 7, 31, 9, 1, tzinfo=UTC), "ana", "reactivate")]
        )


# -- the sweep a billing walk keeps: the timeline's answers, as running state ------------------


@st.composite
def member_histories(draw: st.DrawFn) -> list[MemberChange]:
    """Legal changes of up to 6 members over 20 days, several at one instant at times."""
    states: dict[str, str] = {}
    changes = []
    hour = 0
    for _ in range(draw(st.integers(0, 40))):
        hour += draw(st.sampled_from([0, 0, 1, 5, 24]))
        member = draw(st.sampled_from([f"m{i}" for i in range(6)]))
        legal = [a for a, moves in TRANSITIONS.items() if states.get(member) in moves]
        if not legal or hour >= 20 * 24:
            continue
        action = draw(st.sampled_from(legal))
        if action == "reactivate":
            continue  # within 6 months always here: the timeline's own rule, tested above
        states[member] = TRANSITIONS[action][states.get(member)]
        changes.append(MemberChange(at(1) + timedelta(hours=hour), member, action))
    return changes


def _take(sweep: SeatSweep, instant: datetime, group: list[MemberChange], one: bool) -> None:
    """An instant's changes into the sweep; ``one``: an instant of one change as a billing walk
    takes it (``apply_one``)."""
    if one and len(group) == 1:
        sweep.apply_one(instant, group[0])
    else:
        sweep.apply(instant, group)


@given(
    member_histories(),
    st.booleans(),
    st.lists(st.integers(0, 20 * 24), max_size=4),
    st.booleans(),
)
def test_the_sweep_answers_as_the_timeline_does(
    changes: list[MemberChange], count_invited: bool, cuts: list[int], one: bool
) -> None:
    """Walking the changes group by group, with cycles cut at arbitrary instants: holders now,
    the distinct holders and the peak of each cycle, in the timeline's order (an instant of
    one change taken by ``apply_one`` or by ``apply``)."""
    seats = SeatTimeline(changes)
    sweep = SeatSweep(count_invited)
    start = at(1)
    boundaries = sorted({start + timedelta(hours=hour) for hour in cuts} - {start})
    boundaries.append(at(25))
    groups = [(instant, list(group)) for instant, group in groupby(changes, key=lambda c: c.at)]
    index = 0
    for end in boundaries:
        while index < len(groups) and groups[index][0] <= start:
            _take(sweep, *groups[index], one)
            index += 1
        sweep.begin_cycle(end)
        assert sweep.holders() == seats.holders_at(start, count_invited)
        while index < len(groups) and groups[index][0] < end:
            _take(sweep, *groups[index], one)
            assert sweep.holders() == seats.holders_at(groups[index][0], count_invited)
            index += 1
        cycle = Period(start, end)
        assert sweep.cycle_holders() == seats.holders_during(cycle, count_invited)
        assert sweep.cycle_peak == seats.peak_during(cycle, count_invited)
        start = end


def test_a_refused_change_leaves_the_timeline_as_it_was() -> None:
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    timeline = SeatTimeline([MemberChange(start, "ana", "activate")])
    with pytest.raises(TimelineError, match="cannot activate a member who is active"):
        timeline.apply(MemberChange(start + timedelta(hours=2), "ana", "activate"))
    with pytest.raises(TimelineError, match="does not exist"):
        timeline.apply(MemberChange(start + timedelta(hours=3), "bob", "deactivate"))
    timeline.apply(MemberChange(start + timedelta(hours=1), "ana", "deactivate"))  # not "backwards"
    assert timeline.state_at("ana", start + timedelta(hours=1)) == "deactivated"
    assert timeline.state_at("bob", start + timedelta(hours=3)) is None


# -- one validation: the walk's sweep refuses what the timeline refuses ------------------------


@pytest.mark.parametrize("one", [False, True])
@pytest.mark.parametrize(("changes", "message"), REFUSED)
def test_the_sweep_refuses_what_the_timeline_refuses(
    changes: list[tuple[int, str, str]], message: str, one: bool
) -> None:
    sweep = SeatSweep(count_invited=False)
    with pytest.raises(TimelineError) as caught:
        for day, group in groupby(changes, key=lambda change: change[0]):
            instant = at(day)
            _take(sweep, instant, [MemberChange(instant, m, a) for _, m, a in group], one)
    assert message in str(caught.value) and "member 'a'" in str(caught.value)


def test_six_calendar_months_are_never_shorter_than_the_shortcut_assumes() -> None:
    """A reactivation at most SURELY_WITHIN_REACTIVATION after the deactivation is taken as
    within six months without working them out: true from every day of the Gregorian
    calendar's 400-year cycle, and exactly so from 31 August 2022 (28 February 2023 is 181
    days later, clamped)."""
    start = datetime(2000, 1, 1, 23, 59, 59, 999999, tzinfo=UTC)
    shortest = min(
        add_months(day, REACTIVATION_MONTHS, UTC_ZONE) - day
        for day in (start + timedelta(days=n) for n in range(146_097))
    )
    assert shortest == SURELY_WITHIN_REACTIVATION == timedelta(days=181)
    t0 = datetime(2022, 8, 31, 12, tzinfo=UTC)
    base = [MemberChange(t0, "ana", "activate"), MemberChange(t0, "ana", "deactivate")]
    limit = datetime(2023, 2, 28, 12, tzinfo=UTC)  # the shortcut's bound, and the rule's
    assert SeatTimeline([*base, MemberChange(limit, "ana", "reactivate")]).holders_at(
        limit, False
    ) == ["ana"]
    later = limit + timedelta(microseconds=1)
    with pytest.raises(TimelineError, match=r"more than 6 months before \(on 2022-08-31"):
        SeatTimeline([*base, MemberChange(later, "ana", "reactivate")])


def test_the_sweep_refuses_a_reactivation_after_six_months() -> None:
    t0 = datetime(2024, 1, 31, 9, tzinfo=UTC)
    sweep = SeatSweep(count_invited=False)
    sweep.apply(t0, [MemberChange(t0, "ana", "activate"), MemberChange(t0, "ana", "deactivate")])
    late = datetime(2024, 7, 31, 9, 1, tzinfo=UTC)
    with pytest.raises(TimelineError, match=r"more than 6 months before \(on 2024-01-31"):
        sweep.apply(late, [MemberChange(late, "ana", "reactivate")])
    in_time = datetime(2024, 7, 31, 9, tzinfo=UTC)
    sweep.apply(in_time, [MemberChange(in_time, "ana", "reactivate")])
    assert sweep.holders() == ["ana"]


@given(member_histories(), st.booleans())
def test_a_timeline_of_validated_changes_answers_as_one_built_change_by_change(
    changes: list[MemberChange], count_invited: bool
) -> None:
    """``add_validated`` makes its spans when first asked: the same answers, and changes
    applied after them are checked against them."""
    checked = SeatTimeline(changes)
    lazy = SeatTimeline()
    half = len(changes) // 2
    lazy.add_validated(changes[:half])
    lazy.add_validated(changes[half:])
    whole = Period(at(1), at(25))
    assert lazy.holders_during(whole, count_invited) == checked.holders_during(whole, count_invited)
    for change in changes:
        assert lazy.holders_at(change.at, count_invited) == checked.holders_at(
            change.at, count_invited
        )
        assert lazy.spans_of(change.member) == checked.spans_of(change.member)
    if changes:
        last = changes[-1]
        with pytest.raises(TimelineError, match="time goes backwards"):
            lazy.apply(MemberChange(last.at - timedelta(hours=1), "new", "activate"))
