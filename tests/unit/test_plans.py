from decimal import Decimal

import pytest

from seatwise.core.errors import PlanError
from seatwise.core.plans import parse_plan
from seatwise.core.presets import PRESETS, merge


def test_every_preset_validates_with_a_price() -> None:
    for name in PRESETS:
        plan = parse_plan({"preset": name, "price": "10.00"})
        assert plan.pricing.cost(1) == 1000


def test_preset_fields_of_spec_section_2() -> None:
    licences = parse_plan({"preset": "licences-annual", "price": "1"})
    assert (licences.interval, licences.seats, licences.increases.lines) == (
        "year",
        "peak",
        "delta",
    )
    assert licences.statements and licences.reminders == (15, 7, 3, 1)
    users = parse_plan({"preset": "active-users-monthly", "price": "8"})
    assert (users.billing, users.seats, users.minimum_seats) == ("arrears", "ever_active", 1)
    assert users.anchor_delay_hours == 24
    assert (users.dunning.retry_after_days, users.dunning.max_attempts) == (2, 3)
    assert (users.dunning.grace_days, users.dunning.final_action) == (7, "delete")
    seats = parse_plan({"preset": "seats-annual", "price": "1"})
    assert (seats.pending.invoice, seats.pending.threshold) == ("threshold", 15000)
    assert seats.decreases == "credit"
    contract = parse_plan({"preset": "contract-annual", "price": "1"})
    assert contract.count_invited and contract.renewal_seats == "peak"
    assert contract.pending.invoice == "monthly"


def test_nested_override_merges_key_by_key() -> None:
    plan = parse_plan(
        {"preset": "seats-annual", "price": "1", "increases": {"proration": "second"}}
    )
    assert plan.increases.proration == "second"
    assert plan.increases.lines == "remaining_unused"  # kept from the preset
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_defaults() -> None:
    plan = parse_plan({"price": "5"})
    assert plan.currency.code == "USD"
    assert (plan.interval, plan.billing, plan.seats) == ("month", "advance", "active")
    assert plan.net_days == 30 and plan.pending.invoice == "renewal"


def test_money_is_exact_from_a_decimal() -> None:
    assert parse_plan({"price": Decimal("108.10"), "currency": "EUR"}).pricing.cost(1) == 10810


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        ({"price": "1", "colour": "red"}, "colour", "unknown field"),
        ({"price": "1", "tiers": [{"from": 1, "price": "1"}]}, "price", "not both"),
        ({}, "price", "needs a seat `price` or `tiers`"),
        ({"price": 10.5}, "price", "float"),
        ({"price": "ten"}, "price", "not a decimal amount"),
        ({"price": "-1"}, "price", "must not be negative"),
        ({"price": "1", "interval": "week"}, "interval", "not one of month, year"),
        ({"price": "1", "increases": {"charge": "half"}}, "increases.charge", "not one of"),
        ({"price": "1", "increases": {"speed": 1}}, "increases.speed", "unknown field"),
        ({"price": "1", "currency": "XXX"}, "currency", "unknown currency"),
        ({"price": "1", "seats": "ever_active"}, "seats", "needs `billing: arrears`"),
        ({"price": "1", "minimum_seats": -1}, "minimum_seats", "below the minimum"),
        ({"price": "1", "count_invited": "yes"}, "count_invited", "not true or false"),
        ({"preset": "seats-weekly", "price": "1"}, "preset", "unknown preset"),
        ({"tiers": [{"from": 2, "price": "1"}]}, "tiers[0].from", "must start from 1"),
        (
            {"tiers": [{"from": 1, "price": "1"}, {"from": 1, "price": "2"}]},
            "tiers[1].from",
            "increasing order",
        ),
        ({"price": "1", "credits": {"tiers": []}}, "credits.unit_price", "retail"),
        ({"price": "1.005", "currency": "EUR"}, "price", "more decimals than EUR"),
    ],
)
def test_invalid_plans_name_the_field(data: dict[str, object], path: str, reason: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    assert caught.value.path == path
    assert reason in caught.value.reason
