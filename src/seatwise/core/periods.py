"""Anchors, terms, cycles and monthly anniversaries (SPEC section 4).

Every instant is an aware ``datetime`` in UTC. Calendar arithmetic (adding months, counting
days) is done in the account's time zone and converted back to UTC. Anniversaries are always
computed from the anchor, never from the previous anniversary, so a 31st stays a 31st:
31 Jan → 29 Feb 2024 → 31 Mar → 30 Apr.
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson

from seatwise.core.records import quick_init


def utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is refused (it names no instant)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone")
    return value.astimezone(UTC)


def iso(instant: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: ``2021-02-15T00:00:00Z``."""
    # orjson writes it so (microseconds when there are any, as isoformat), in a third of the
    # time: isoformat is a generic formatter, and a billing run or an API answer writes thousands
    if instant.tzinfo is not UTC:  # nearly always UTC
        instant = utc(instant)
    return orjson.dumps(instant, option=orjson.OPT_UTC_Z)[1:-1].decode()


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    """The calendar date of an instant in a time zone."""
    return instant.astimezone(tz).date()


def format_day(instant: datetime, tz: ZoneInfo) -> str:
    """A calendar date as invoices print it: ``15 Mar 2021``."""
    return format_date(local_date(instant, tz))


@functools.lru_cache(maxsize=4096)
def format_date(day: date) -> str:
    """A local date as invoices print it: ``15 Mar 2021`` (remembered: a walk prints the
    same dates again and again)."""
    return f"{day.day} {day.strftime('%b %Y')}"


# Calendar arithmetic is a pure function of its arguments, asked again and again for the same
# ones (each account's anniversaries, each unpaid invoice's reminder dates at each step of
# collecting): remembered, a few thousand answers at most.
@functools.lru_cache(maxsize=8192)
def add_months(start: datetime, months: int, tz: ZoneInfo) -> datetime:
    """``start`` plus a number of calendar months in ``tz``, the day clamped to the month's end."""
    local = start.astimezone(tz)
    month_index = local.month - 1 + months
    year = local.year + month_index // 12
    month = month_index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    shifted = datetime(
        year, month, day, local.hour, local.minute, local.second, local.microsecond, tzinfo=tz
    )
    return shifted.astimezone(UTC)


@functools.lru_cache(maxsize=8192)
def add_days(start: datetime, days: int, tz: ZoneInfo) -> datetime:
    """``start`` plus calendar days in ``tz`` (the same wall-clock time ``days`` later)."""
    # an aware datetime plus a timedelta adds to its wall-clock time, the zone kept (a
    # wall-clock time that falls twice is taken at its first); then that time is an instant
    return (start.astimezone(tz) + timedelta(days)).astimezone(UTC)


@quick_init
@dataclass(frozen=True, slots=True)
class Period:
    """A half-open interval of time ``[start, end)``."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Schedule:
    """When terms (or arrears cycles) begin and end, and the monthly anniversaries between.

    ``service_start`` is when the subscription's service begins (the subscription, or a delayed
    contract start). ``anchor`` is ``service_start`` plus the plan's anchor delay. Boundary 0 is
    ``service_start``; boundary k ≥ 1 is the anchor plus k terms. So the first term runs from the
    service start to the first anniversary of the anchor (SPEC 2.2), and all later terms are whole.
    """

    service_start: datetime
    anchor: datetime
    months_per_term: int
    tz: ZoneInfo

    def anniversary(self, months: int) -> datetime:
        """The anchor plus ``months`` months (``months`` ≥ 1), or the service start for 0."""
        if months == 0:
            return self.service_start
        return add_months(self.anchor, months, self.tz)

    def boundary(self, term_index: int) -> datetime:
        """The start of term ``term_index`` (0 is the first term)."""
        return self.anniversary(term_index * self.months_per_term)

    def term(self, term_index: int) -> Period:
        return Period(self.boundary(term_index), self.boundary(term_index + 1))

    def month(self, month_index: int) -> Period:
        """The ``month_index``-th month of the subscription, between monthly anniversaries."""
        return Period(self.anniversary(month_index), self.anniversary(month_index + 1))

    def is_term_boundary(self, month_index: int) -> bool:
        return month_index % self.months_per_term == 0

    def term_of_month(self, month_index: int) -> int:
        return month_index // self.months_per_term

    def term_containing(self, instant: datetime) -> int:
        """The index of the term ``[start, end)`` that contains ``instant`` (≥ service start)."""
        if instant < self.service_start:
            raise ValueError("instant is before the service start")
        index = 0
        while self.boundary(index + 1) <= instant:
            index += 1
        return index


def make_schedule(
    service_start: datetime, anchor_delay_hours: int, interval: str, tz: ZoneInfo
) -> Schedule:
    start = utc(service_start)
    anchor = start + timedelta(hours=anchor_delay_hours)
    return Schedule(start, anchor, 12 if interval == "year" else 1, tz)
