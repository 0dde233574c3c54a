"""Invariants over random plans and timelines (hypothesis)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.account import Account, Cancel
from seatwise.core.billing import TimelineEvent
from seatwise.core.money import round_half_up
from seatwise.core.periods import make_schedule
from seatwise.core.plans import parse_plan
from seatwise.core.presets import PRESETS
from seatwise.core.pricing import SeatPricing, Tier
from seatwise.core.proration import fraction_remaining
from seatwise.core.seat_timeline import TRANSITIONS, MemberChange
from seatwise.scenario import Scenario, document, run_scenario

START = datetime(2023, 1, 31, 9, 30, tzinfo=UTC)
ZONES = ["UTC", "America/New_York", "Europe/Paris", "Asia/Tokyo", "Australia/Sydney"]

plans = st.builds(
    lambda preset, price, overrides: parse_plan({"preset": preset, "price": price, **overrides}),
    st.sampled_from(sorted(PRESETS)),
    st.decimals(min_value=0, max_value=500, places=2).map(str),
    st.fixed_dictionaries(
        {},
        optional={
            "increases": st.fixed_dictionaries(
                {},
                optional={
                    "charge": st.sampled_from(["none", "prorated", "full"]),
                    "proration": st.sampled_from(["day", "second"]),
                    "lines": st.sampled_from(["remaining_unused", "delta"]),
                },
            ),
            "decreases": st.sampled_from(["keep", "credit"]),
            "pending": st.fixed_dictionaries(
                {"invoice": st.sampled_from(["immediately", "threshold", "monthly", "renewal"])}
            ),
            "minimum_seats": st.integers(0, 5),
            "count_invited": st.booleans(),
        },
    ),
)


@st.composite
def timelines(draw: st.DrawFn) -> list[TimelineEvent]:
    """A legal member timeline: each step picks a member and one of its legal actions."""
    states: dict[str, str | None] = {}
    left: dict[str, datetime] = {}  # deactivated when: a return is legal within 6 months
    events: list[TimelineEvent] = []
    instant = START
    for index in range(draw(st.integers(0, 5))):
        states[f"s{index}"] = "active"
        events.append(MemberChange(START, f"s{index}", "activate"))
    for step in range(draw(st.integers(0, 25))):
        instant += timedelta(seconds=draw(st.integers(0, 90 * 86400)))
        if draw(st.integers(0, 30)) == 0:
            events.append(Cancel(instant))
            continue
        member = draw(st.sampled_from([*states, f"n{step}"]))
        state = states.get(member)
        legal = [action for action, moves in TRANSITIONS.items() if state in moves]
        if member in left and instant - left[member] > timedelta(days=180):
            legal = [action for action in legal if action != "reactivate"]
        if not legal:
            continue
        action = draw(st.sampled_from(legal))
        states[member] = TRANSITIONS[action][state]
        if action == "deactivate":
            left[member] = instant
        events.append(MemberChange(instant, member, action))
    return events


def scenario(plan_: object, events: list[TimelineEvent], committed: int, zone: str) -> Scenario:
    from seatwise.core.plans import Plan

    assert isinstance(plan_, Plan)
    last = events[-1].at if events else START
    return Scenario(
        file="<property>",
        name="property",
        plan=plan_,
        account=Account(subscribed_at=START, committed_seats=committed, timezone=ZoneInfo(zone)),
        payment_method="succeeds",
        events=tuple(events),
        until=last + timedelta(days=400),
    )


@settings(max_examples=150, deadline=None)
@given(plans, timelines(), st.integers(0, 6), st.sampled_from(ZONES))
def test_invoice_invariants(
    plan: object, events: list[TimelineEvent], committed: int, zone: str
) -> None:
    case = scenario(plan, events, committed, zone)
    doc = document(run_scenario(case))
    balance = Decimal(0)
    for invoice in doc["invoices"]:
        amounts = [Decimal(line["amount"]) for line in invoice["lines"]]
        # the total is the sum of the rounded lines, and never negative
        assert Decimal(invoice["total"]) == sum(amounts, Decimal(0))
        assert Decimal(invoice["total"]) >= 0
        for line in invoice["lines"]:
            if line["kind"] == "balance_applied":
                balance += Decimal(line["amount"])
        assert balance >= 0  # the credit balance never goes below zero
        assert invoice["issued_at"] <= invoice["due_at"]
    assert Decimal(doc["account"]["credit_balance"]) == balance
    issued = [invoice["issued_at"] for invoice in doc["invoices"]]
    assert issued == sorted(issued)
    keys = [(i["kind"], i["period_start"], i["period_end"]) for i in doc["invoices"]]
    assert len(keys) == len(set(keys))  # one invoice per kind and period
    # the same scenario always gives the same document
    again = document(run_scenario(case))
    assert json.dumps(doc, sort_keys=True) == json.dumps(again, sort_keys=True)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 200),
    st.integers(0, 200),
    st.lists(st.integers(0, 100000), min_size=1, max_size=4),
    st.sampled_from(["volume", "graduated"]),
    st.sampled_from(["day", "second"]),
    st.sampled_from(ZONES),
    st.sampled_from(["month", "year"]),
    st.integers(0, 400),
)
def test_prorating_a_whole_term_costs_one_terms_price(
    old: int,
    new: int,
    prices: list[int],
    mode: str,
    granularity: str,
    zone: str,
    interval: str,
    offset_days: int,
) -> None:
    tz = ZoneInfo(zone)
    tiers = tuple(Tier(1 + 10 * index, price) for index, price in enumerate(prices))
    pricing = SeatPricing(tiers, mode)
    schedule = make_schedule(START + timedelta(days=offset_days), 0, interval, tz)
    term = schedule.term(1)
    whole = fraction_remaining(term, term.start, granularity, tz)
    assert whole == 1
    assert round_half_up(pricing.cost(new) * whole) == pricing.cost(new)
    # a remaining/unused pair at the start of the term is exactly the difference of costs
    remaining = round_half_up(pricing.cost(new) * whole)
    unused = -round_half_up(pricing.cost(old) * whole)
    assert remaining + unused == pricing.cost(new) - pricing.cost(old)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**9), 10**9), st.integers(1, 10**6))
def test_rounding_is_symmetric_and_within_half(numerator: int, denominator: int) -> None:
    value = Fraction(numerator, denominator)
    rounded = round_half_up(value)
    assert abs(rounded - value) <= Fraction(1, 2)
    assert round_half_up(-value) == -rounded
