"""Invariants over random plans and timelines (hypothesis)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.billing import TimelineEvent
from seatwise.core.money import round_half_up, round_ratio
from seatwise.core.periods import make_schedule
from seatwise.core.pricing import SeatPricing, Tier
from seatwise.core.proration import days_left, days_remaining, fraction_remaining
from seatwise.scenario_result import document, run_scenario
from strategies import START, ZONES, plans, scenario, timelines


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


@settings(max_examples=200, deadline=None)
@given(
    st.integers(-(10**12), 10**12),
    st.dates(date(2024, 1, 1), date(2030, 1, 1)),
    st.integers(1, 800),
    st.integers(0, 800),
)
def test_a_days_share_left_unreduced_rounds_to_the_fractions_amount(
    cost: int, start: date, days: int, into: int
) -> None:
    """A walk prices a change by the days left and the term's days as they are (proration's
    ``days_left``), not reduced: the amount rounded is the same as by the fraction."""
    end = start + timedelta(days=days)
    change = start + timedelta(days=min(into, days))
    left, whole = days_left((start, end), change)
    share, _ = days_remaining((start, end), change)
    assert Fraction(left, whole) == share
    assert round_ratio(cost * left, whole) == round_half_up(cost * share)
