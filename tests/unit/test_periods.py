from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatwise.core.periods import Period, add_days, add_months, iso, make_schedule
from seatwise.core.proration import describe_fraction, fraction_remaining

UTC_ZONE = ZoneInfo("UTC")


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_month_end_clamping_is_relative_to_the_anchor() -> None:
    schedule = make_schedule(at(2024, 1, 31), 0, "month", UTC_ZONE)
    assert [schedule.anniversary(m).date().isoformat() for m in range(1, 5)] == [
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
        "2024-05-31",
    ]
    assert add_months(at(2023, 1, 31), 1, UTC_ZONE) == at(2023, 2, 28)


def test_anchor_delay_makes_the_first_cycle_longer() -> None:
    schedule = make_schedule(at(2024, 1, 7, 10), 24, "month", UTC_ZONE)
    assert schedule.term(0) == Period(at(2024, 1, 7, 10), at(2024, 2, 8, 10))
    assert schedule.term(1) == Period(at(2024, 2, 8, 10), at(2024, 3, 8, 10))


def test_annual_terms_and_the_month_index() -> None:
    schedule = make_schedule(at(2021, 2, 15), 0, "year", UTC_ZONE)
    assert schedule.term(1) == Period(at(2022, 2, 15), at(2023, 2, 15))
    assert schedule.is_term_boundary(12) and not schedule.is_term_boundary(3)
    assert schedule.term_containing(at(2022, 2, 14, 23, 59)) == 0
    assert schedule.term_containing(at(2022, 2, 15)) == 1


def test_anniversaries_keep_local_wall_time_across_dst() -> None:
    paris = ZoneInfo("Europe/Paris")
    schedule = make_schedule(datetime(2024, 3, 1, 9, tzinfo=paris), 0, "month", paris)
    # 09:00 in Paris is 08:00Z in winter and 07:00Z in summer.
    assert schedule.anniversary(1) == at(2024, 4, 1, 7)


def test_day_fraction_of_spec_5() -> None:
    term = Period(at(2021, 2, 15), at(2022, 2, 15))
    change = at(2021, 3, 15, 9)
    assert fraction_remaining(term, change, "day", UTC_ZONE) == Fraction(337, 365)
    assert describe_fraction(Fraction(337, 365), term, change, "day", UTC_ZONE) == "337/365 days"


def test_second_fraction() -> None:
    term = Period(at(2023, 1, 1), at(2024, 1, 1))
    assert fraction_remaining(term, at(2023, 7, 2, 12), "second", UTC_ZONE) == Fraction(1, 2)


def test_whole_term_is_fraction_one() -> None:
    term = Period(at(2024, 1, 31), at(2024, 2, 29))
    assert fraction_remaining(term, term.start, "day", UTC_ZONE) == 1
    assert fraction_remaining(term, term.start, "second", UTC_ZONE) == 1
    assert fraction_remaining(term, term.end, "day", UTC_ZONE) == 0


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (datetime(2021, 2, 15, tzinfo=UTC), "2021-02-15T00:00:00Z"),
        (datetime(2021, 2, 15, 9, 5, 7, 120, tzinfo=UTC), "2021-02-15T09:05:07.000120Z"),
        (datetime(2021, 2, 15, 1, tzinfo=timezone(timedelta(hours=1))), "2021-02-15T00:00:00Z"),
        (
            datetime(2021, 2, 14, 19, 30, tzinfo=ZoneInfo("America/New_York")),
            "2021-02-15T00:30:00Z",
        ),
        (datetime(2021, 2, 15, 0, 0, 0, 1, tzinfo=ZoneInfo("UTC")), "2021-02-15T00:00:00.000001Z"),
    ],
)
def test_an_instant_is_written_in_utc_with_a_z_whatever_its_zone(
    instant: datetime, text: str
) -> None:
    assert iso(instant) == text


ZONES = st.sampled_from(
    [UTC, UTC_ZONE, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), timezone.min]
)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES))
def test_iso_is_isoformat_in_utc_with_a_z_for_any_instant(instant: datetime) -> None:
    """iso() is written by orjson, not by isoformat: the same text for every instant Python
    can hold, whatever its zone, microseconds or not."""
    assert iso(instant) == instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Paris moves to summer time on 30 Mar 2025 (UTC+1 → UTC+2) and back on 26 Oct
        (datetime(2025, 3, 29, 8, tzinfo=UTC), 1, datetime(2025, 3, 30, 7, tzinfo=UTC)),
        (datetime(2025, 3, 31, 7, tzinfo=UTC), -2, datetime(2025, 3, 29, 8, tzinfo=UTC)),
        (datetime(2025, 10, 25, 7, tzinfo=UTC), 1, datetime(2025, 10, 26, 8, tzinfo=UTC)),
        (datetime(2025, 1, 15, 8, tzinfo=UTC), 365, datetime(2026, 1, 15, 8, tzinfo=UTC)),
        # 02:30 on 30 Mar does not exist in Paris: read with the offset before the change
        (datetime(2025, 3, 29, 1, 30, tzinfo=UTC), 1, datetime(2025, 3, 30, 1, 30, tzinfo=UTC)),
        # 02:30 on 26 Oct comes twice: the first
        (datetime(2025, 10, 25, 0, 30, tzinfo=UTC), 1, datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
        (datetime(2025, 10, 26, 1, 30, tzinfo=UTC), 7, datetime(2025, 11, 2, 1, 30, tzinfo=UTC)),
    ],
)
def test_add_days_keeps_the_wall_clock_time_across_daylight_saving_changes(
    start: datetime, days: int, expected: datetime
) -> None:
    moved = add_days(start, days, ZoneInfo("Europe/Paris"))
    assert moved == expected
    assert moved.tzinfo is UTC
