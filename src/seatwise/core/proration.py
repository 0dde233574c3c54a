"""Proration fractions (SPEC section 5).

Day granularity: (days from the change's calendar date to the term's end date) /
(days from the term's start date to its end date), with dates in the account's time zone.
Second granularity: the same with seconds. Both are exact fractions; the caller multiplies a
cost by one and rounds the product once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from seatwise.core.periods import Period, local_date


def fraction_remaining(term: Period, change: datetime, granularity: str, tz: ZoneInfo) -> Fraction:
    """The share of ``term`` left from ``change`` to its end, in days or seconds."""
    if not term.start <= change <= term.end:
        raise ValueError("the change is outside the term")
    if granularity == "second":
        return Fraction(_micros(term.end - change), _micros(term.end - term.start))
    term_days = local_date(term.start, tz), local_date(term.end, tz)
    return days_remaining(term_days, local_date(change, tz))[0]


def describe_fraction(
    fraction: Fraction, term: Period, change: datetime, granularity: str, tz: ZoneInfo
) -> str:
    """How a fraction was obtained, for explanations: ``337/365 days``."""
    if granularity == "second":
        left = _micros(term.end - change) // 1_000_000
        whole = _micros(term.end - term.start) // 1_000_000
        return f"{left}/{whole} seconds"
    term_days = local_date(term.start, tz), local_date(term.end, tz)
    return days_remaining(term_days, local_date(change, tz))[1]


def days_remaining(term_days: tuple[date, date], change_day: date) -> tuple[Fraction, str]:
    """:func:`fraction_remaining` by day and :func:`describe_fraction` of it, from the local
    dates of the term's start and end and of the change (a walk knows its term's once)."""
    left, whole = days_left(term_days, change_day)
    return Fraction(left, whole), f"{left}/{whole} days"


def days_left(term_days: tuple[date, date], change_day: date) -> tuple[int, int]:
    """The days from the change's date to the term's end, and the term's days: the share
    :func:`days_remaining` gives, as the two integers (a walk multiplies a cost by the first,
    divides by the second and rounds once, the same amount as by the fraction reduced)."""
    start_day, end_day = term_days
    if not start_day <= change_day <= end_day:
        raise ValueError("the change is outside the term")
    return (end_day - change_day).days, (end_day - start_day).days


def _micros(span: timedelta) -> int:
    """A span as an exact integer count of microseconds (no float on the way)."""
    return span // timedelta(microseconds=1)
