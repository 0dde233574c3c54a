"""Seats as steps and seat-days: exact, and consistent for any step functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from seatwise.analysis.series import days_text, occupancy_steps, seat_days
from seatwise.core.seat_timeline import MemberChange

START = datetime(2025, 1, 1, tzinfo=UTC)
UNTIL = START + timedelta(days=365)


def at(days: float) -> datetime:
    return START + timedelta(days=days)


def test_occupancy_counts_invited_members_only_where_the_plan_says() -> None:
    changes = [
        MemberChange(at(0), "a", "activate"),
        MemberChange(at(0), "b", "invite"),
        MemberChange(at(10), "b", "activate"),
        MemberChange(at(20), "a", "deactivate"),
        MemberChange(at(30), "a", "reactivate"),
        MemberChange(at(40), "b", "delete"),
        MemberChange(at(365), "c", "activate"),  # at until: outside [start, until)
    ]
    assert occupancy_steps(changes, False, START, UNTIL) == [
        (at(0), 1), (at(10), 2), (at(20), 1), (at(30), 2), (at(40), 1)
    ]  # fmt: skip
    assert occupancy_steps(changes, True, START, UNTIL) == [
        (at(0), 2), (at(20), 1), (at(30), 2), (at(40), 1)
    ]  # fmt: skip


def test_seat_days_are_exact_fractions_of_a_day() -> None:
    occupancy = [(START, 3), (at(0.5), 4)]
    billed = [(START, 4)]
    days = seat_days(occupancy, billed, START, at(2))
    assert days.occupied == Fraction(3, 2) + 6 and days.billed == 8
    assert days.paid_not_used == Fraction(1, 2) and days.used_not_paid == 0
    assert days_text(Fraction(1, 200)) == "0.01" and days_text(Fraction(1, 201)) == "0.00"


steps = st.lists(st.tuples(st.integers(0, 364), st.integers(0, 50)), max_size=12).map(
    lambda pairs: [(START, 0), *sorted({(at(day), seats) for day, seats in pairs})]
)


@given(steps, steps)
def test_billed_minus_occupied_is_unused_minus_unpaid(
    occupancy: list[tuple[datetime, int]], billed: list[tuple[datetime, int]]
) -> None:
    days = seat_days(occupancy, billed, START, UNTIL)
    assert days.billed - days.occupied == days.paid_not_used - days.used_not_paid
    assert min(days.paid_not_used, days.used_not_paid) >= 0
    assert seat_days(occupancy, occupancy, START, UNTIL).paid_not_used == 0
