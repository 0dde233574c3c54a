"""The credit wallet and price quotes (SPEC 7), with amounts and counts written by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatwise.core.credits import CreditError, Wallet, quote, totals
from seatwise.core.money import currency
from seatwise.core.plans import Credits
from seatwise.core.pricing import Tier

USD = currency("USD")
TIERED = Credits(unit_price=1000, tiers=(Tier(1, 1000), Tier(100, 900), Tier(500, 800)))
T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


def test_a_quote_says_when_buying_more_costs_the_same_or_less() -> None:
    offer = quote(TIERED, 95)
    assert (offer.unit_price, offer.total) == (1000, 95_000)
    assert offer.text(USD) == "95 credits cost $950.00; 100 cost $900.00"


def test_a_quote_at_a_tier_boundary_and_just_below_it() -> None:
    assert quote(TIERED, 100).text(USD) == "100 credits cost $900.00"
    assert quote(TIERED, 99).total == 99_000  # $990.00, and 100 would cost $900.00
    assert quote(TIERED, 99).better is not None
    assert quote(TIERED, 450).text(USD) == "450 credits cost $4,050.00; 500 cost $4,000.00"
    assert quote(TIERED, 80).better is None  # 100 × $9.00 = $900.00 > $800.00


def test_without_tiers_every_credit_costs_the_retail_price() -> None:
    offer = quote(Credits(unit_price=1000), 7)
    assert (offer.unit_price, offer.total, offer.better) == (1000, 7000, None)


def test_spec7_hundred_credits_five_assigned_then_started() -> None:
    wallet, _ = Wallet().purchase(T0, 100, "bought")
    wallet, _ = wallet.assign(T0, "m5", "harassment-101", 5)
    assert (wallet.balance, wallet.assigned) == (100, 5)
    wallet, entries = wallet.start(T0, "m5", "harassment-101")
    assert (wallet.balance, wallet.assigned) == (95, 0)
    assert [(e.kind, e.credits) for e in entries] == [("spend", 5)]
    assert totals(wallet.entries) == (95, 0)


def test_a_start_short_of_credits_spends_what_there_is_and_charges_the_rest() -> None:
    wallet, _ = Wallet().purchase(T0, 2, "bought")
    wallet, _ = wallet.assign(T0, "ana", "course", 5)
    assert wallet.over_assigned
    wallet, entries = wallet.start(T0, "ana", "course")
    assert [(e.kind, e.credits, e.balance_change) for e in entries] == [
        ("spend", 2, -2),
        ("overage", 3, 0),
    ]
    assert (wallet.balance, wallet.assigned) == (0, 0)


def test_a_member_leaving_releases_their_reservations_only() -> None:
    wallet, _ = Wallet().assign(T0, "ben", "a", 3)
    wallet, _ = wallet.assign(T0, "ben", "b", 1)
    wallet, _ = wallet.assign(T0, "ana", "a", 2)
    wallet, released = wallet.member_left(T0, "ben")
    assert [(e.kind, e.content, e.credits) for e in released] == [
        ("release", "a", 3),
        ("release", "b", 1),
    ]
    assert wallet.assigned == 2


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ([("start", "m1", "x")], "'x' is not assigned to this member"),
        ([("unassign", "m1", "x")], "'x' is not assigned to this member"),
        ([("assign", "m1", "x"), ("assign", "m1", "x")], "'x' is already assigned"),
        ([("assign", "m1", "x"), ("start", "m1", "x"), ("start", "m1", "x")], "already started"),
        ([("assign", "m1", "x"), ("start", "m1", "x"), ("assign", "m1", "x")], "already started"),
    ],
)
def test_impossible_movements_are_refused(steps: list[tuple[str, str, str]], reason: str) -> None:
    wallet = Wallet()
    with pytest.raises(CreditError, match=reason):
        for action, member, content in steps:
            if action == "assign":
                wallet, _ = wallet.assign(T0, member, content, 1)
            elif action == "start":
                wallet, _ = wallet.start(T0, member, content)
            else:
                wallet, _ = wallet.unassign(T0, member, content)


OPERATION = st.tuples(
    st.sampled_from(["buy", "assign", "start", "unassign", "leave"]),
    st.sampled_from(["ana", "ben", "cleo"]),
    st.sampled_from(["a", "b"]),
    st.integers(min_value=1, max_value=40),
)


@given(st.lists(OPERATION, max_size=60))
def test_the_ledger_always_explains_the_wallet_and_the_balance_never_goes_below_zero(
    operations: list[tuple[str, str, str, int]],
) -> None:
    wallet = Wallet()
    overage = spent = bought = 0
    for index, (action, member, content, credits) in enumerate(operations):
        at = T0 + timedelta(minutes=index)
        before = wallet
        try:
            if action == "buy":
                wallet, new = wallet.purchase(at, credits, "bought")
            elif action == "assign":
                wallet, new = wallet.assign(at, member, content, credits)
            elif action == "start":
                wallet, new = wallet.start(at, member, content)
            elif action == "unassign":
                wallet, new = wallet.unassign(at, member, content)
            else:
                wallet, new = wallet.member_left(at, member)
        except CreditError:
            assert wallet is before  # a refused movement changes nothing
            continue
        bought += sum(e.credits for e in new if e.kind == "purchase")
        spent += sum(e.credits for e in new if e.kind == "spend")
        overage += sum(e.credits for e in new if e.kind == "overage")
        assert wallet.balance >= 0 and wallet.assigned >= 0
        assert totals(wallet.entries) == (wallet.balance, wallet.assigned)
        assert wallet.assigned == sum(r.credits for r in wallet.open.values())
        assert wallet.balance == bought - spent
