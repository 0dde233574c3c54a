"""A plan's calendar and a cancellation told in words (the billing page's sentences), each
written here by hand from SPEC 2 and 8, and checked against the walk that bills."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from seatwise.core.account import Account, Cancel
from seatwise.core.describe import (
    billing_calendar,
    cancellation_outlook,
    ordinal,
    price_in_words,
)
from seatwise.core.plans import parse_plan
from seatwise.core.seat_timeline import Member, MemberChange


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
        "31st",
    ]


def test_active_users_monthly_says_the_8th_at_10_for_the_month_before() -> None:
    # SPEC 2.2: subscribed on the 7th at 10:00, anchor 24 h later: invoices on the 8th at 10:00
    plan = parse_plan({"preset": "active-users-monthly", "price": "8.00"})
    account = Account(subscribed_at=at("2024-01-07T10:00:00"))
    assert billing_calendar(plan, account) == [
        "Invoiced on the 8th of each month at 10:00 (UTC), in arrears, for every user active "
        "during the month before.",
        "At least 1 user is billed.",
        "Each invoice is charged to your payment method on file when issued.",
    ]
    assert price_in_words(plan) == "$8.00 per seat per month"


def test_licences_annual_says_the_year_the_high_water_mark_and_the_statements() -> None:
    plan = parse_plan({"preset": "licences-annual", "currency": "EUR", "price": "120.00"})
    account = Account(
        subscribed_at=at("2025-03-15T09:30:00"),
        committed_seats=100,
        timezone=ZoneInfo("Europe/Paris"),
    )
    assert billing_calendar(plan, account) == [
        "Invoiced on 15 March each year at 10:30 (Europe/Paris), in advance, for the year "
        "ahead: the seats held at renewal.",
        "The year is charged for the most seats held at one time: the count never goes down "
        "inside a year, and a freed seat is reused by the next member.",
        "Seats added during the year are charged for the rest of the year, on the next monthly "
        "invoice.",
        "Seats freed during the year are not refunded.",
        "Your commitment: 100 seats, billed even when fewer are in use.",
        "A statement is issued every month, even when nothing is due.",
        "Invoices are paid by transfer, within 30 days.",
    ]


def test_seats_annual_names_the_threshold_and_the_credits() -> None:
    plan = parse_plan({"preset": "seats-annual", "price": "100.00", "seat_name": "Licence"})
    account = Account(subscribed_at=at("2024-01-31T00:00:00"))
    said = billing_calendar(plan, account)
    assert said[0] == (
        "Invoiced on 31 January each year at 00:00 (UTC), in advance, for the year ahead: "
        "the licences held at renewal."
    )
    assert said[1] == (
        "Licences added during the year are charged for the rest of the year, once they add up "
        "to $150.00 (the rest on the renewal invoice)."
    )
    assert said[2] == "Licences removed during the year are credited the same way."


def test_seats_monthly_on_the_31st_says_shorter_months() -> None:
    plan = parse_plan({"preset": "seats-monthly", "price": "5.00"})
    said = billing_calendar(plan, Account(subscribed_at=at("2025-01-31T00:00:00")))
    assert said[:2] == [
        "Invoiced on the 31st of each month at 00:00 (UTC) (the month's last day when it is "
        "shorter), in advance, for the month ahead: the seats held at renewal.",
        "Seats added during the month are billed from the renewal.",
    ]


def test_rate_schedules_in_words() -> None:
    volume = parse_plan(
        {
            "interval": "year",
            "tiers": [{"from": 1, "price": "10.00"}, {"from": 50, "price": "9.00"}],
        }
    )
    assert price_in_words(volume) == (
        "per seat per year: 1–49 seats $10.00 each, 50 or more seats $9.00 each (every seat at "
        "the rate the count reaches)"
    )


def members(count: int, at_: datetime) -> tuple[tuple[Member, ...], list[MemberChange]]:
    people = tuple(Member(f"m{i}") for i in range(1, count + 1))
    return people, [MemberChange(at_, m.id, "activate") for m in people]


def test_cancelling_an_arrears_plan_ends_the_cycle_and_bills_nothing_more() -> None:
    # SPEC 2.2: subscribed 7 Jan 10:00, cycles end on the 8th at 10:00; cancelled on 20 Mar:
    # the subscription ends on 8 Apr 10:00 and the cycle 8 Mar – 8 Apr is not billed.
    plan = parse_plan({"preset": "active-users-monthly", "price": "8.00"})
    start = at("2024-01-07T10:00:00")
    people, changes = members(3, start)
    account = Account(subscribed_at=start, members=people)
    outlook = cancellation_outlook(plan, account, changes, at("2024-03-20T00:00:00"))
    assert outlook is not None
    assert outlook.ends_at == at("2024-04-08T10:00:00")
    assert outlook.invoices == ()
    assert outlook.not_billed and not outlook.already


def test_cancelling_a_seats_annual_plan_issues_the_final_invoice_of_pending_items() -> None:
    # seats-annual, $120/seat-year, 10 seats from 1 Jan 2023; 2 more on 2 Jul 2023 (pending
    # below the $150 threshold: 2 × $120 × 183/365 = $120.33). Cancelled on 1 Aug: the term
    # ends on 1 Jan 2024 with a final invoice of the pending $120.33, nothing else.
    plan = parse_plan({"preset": "seats-annual", "price": "120.00"})
    start = at("2023-01-01T00:00:00")
    people, changes = members(10, start)
    later = [
        MemberChange(at("2023-07-02T00:00:00"), "n1", "activate"),
        MemberChange(at("2023-07-02T00:00:00"), "n2", "activate"),
    ]
    account = Account(subscribed_at=start, members=(*people, Member("n1"), Member("n2")))
    outlook = cancellation_outlook(plan, account, [*changes, *later], at("2023-08-01T00:00:00"))
    assert outlook is not None
    assert outlook.ends_at == at("2024-01-01T00:00:00")
    assert [(i.kind, i.issued_at, i.total) for i in outlook.invoices] == [
        ("final", at("2024-01-01T00:00:00"), 12033)
    ]
    assert not outlook.not_billed


def test_an_account_cancelled_already_tells_its_end_and_a_future_start_tells_nothing() -> None:
    plan = parse_plan({"preset": "seats-monthly", "price": "5.00"})
    start = at("2025-01-10T00:00:00")
    people, changes = members(2, start)
    account = Account(subscribed_at=start, members=people)
    cancelled = [*changes, Cancel(at("2025-02-01T00:00:00"))]
    outlook = cancellation_outlook(plan, account, cancelled, at("2025-02-05T00:00:00"))
    assert outlook is not None and outlook.already
    assert outlook.ends_at == at("2025-02-10T00:00:00")
    ended = cancellation_outlook(plan, account, cancelled, at("2025-03-01T00:00:00"))
    assert ended is None
    early = Account(subscribed_at=start, start_at=at("2025-02-01T00:00:00"), members=people)
    assert cancellation_outlook(plan, early, changes, at("2025-01-20T00:00:00")) is None
