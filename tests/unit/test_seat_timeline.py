from datetime import UTC, datetime

import pytest

from seatwise.core.errors import TimelineError
from seatwise.core.periods import Period
from seatwise.core.seat_timeline import MemberChange, SeatTimeline


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


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ([(1, "a", "deactivate")], "cannot deactivate a member who does not exist"),
        ([(1, "a", "activate"), (2, "a", "activate")], "cannot activate a member who is active"),
        (
            [(1, "a", "activate"), (2, "a", "delete"), (3, "a", "reactivate")],
            "cannot reactivate a member who is deleted",
        ),
        ([(1, "a", "invite"), (2, "a", "deactivate")], "cannot deactivate a member who is invited"),
        ([(2, "a", "activate"), (1, "b", "activate")], "time goes backwards"),
    ],
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
