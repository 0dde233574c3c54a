"""Credits through the engine on both databases (SPEC 7): quotes, purchases invoiced at once,
assignments recorded as events, the ledger that explains the wallet, refusals that store
nothing, and concurrent starts that never overspend. $10.00 retail, tiers from 100 at $9.00."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from seatwise.core.credits import Assign, Start, Unassign, totals
from seatwise.core.seat_timeline import MemberChange
from seatwise.engine import invoice_lifecycle as lifecycle
from seatwise.engine.billing_run import bill
from seatwise.engine.clock import FixedClock
from seatwise.engine.credits import CreditsRefused, buy_credits, quote_credits, wallet
from seatwise.engine.importing import import_scenario
from seatwise.engine.payments import set_payment_method
from seatwise.engine.recording import EventRefused, record_event
from seatwise.scenario import parse_scenario
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate
from seatwise.store.outbox_repository import outbox_of

PLAN = """
plan:
  preset: seats-monthly
  currency: USD
  price: "10.00"
  collection: COLLECTION
  credits:
    unit_price: "10.00"
    tiers: [{from: 1, price: "10.00"}, {from: 100, price: "9.00"}]
account: {subscribed_at: 2025-01-01T00:00:00Z, contacts: [ap@acme.example]}
members: [{count: 50}]
until: 2025-01-01T00:00:00Z
"""


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def make(database_url: str, collection: str = "charge_automatically") -> Engine:
    migrate(database_url)
    engine = make_engine(database_url)
    scenario = parse_scenario(PLAN.replace("COLLECTION", collection), "credits.yaml")
    import_scenario(engine, scenario, "acme", at(2025, 1, 1), notify_history=True)
    return engine


def events(engine: Engine) -> int:
    with engine.connect() as connection:
        return len(repository.load_account(connection, "acme").events)


def test_quote_buy_assign_start_and_the_ledger(database_url: str) -> None:
    engine = make(database_url)
    assert quote_credits(engine, "acme", 95).text() == "95 credits cost $950.00; 100 cost $900.00"

    invoice = buy_credits(engine, "acme", 100, FixedClock(at(2025, 1, 3, 9))).invoice
    assert (invoice.number, invoice.invoice.kind, invoice.status) == (
        "INV-000002",
        "credits",
        "paid",
    )
    assert invoice.invoice.total == 90_000  # 100 × $9.00, issued at once with the initial one
    view = wallet(engine, "acme", at(2025, 1, 3, 9))
    assert (view.balance, view.assigned) == (100, 0)

    clock = FixedClock(at(2025, 1, 5))
    recorded = record_event(engine, "acme", Assign(at(2025, 1, 4), "m5", "ethics", 5), clock)
    assert not recorded.alert
    assert (recorded.balance_after, recorded.assigned_after) == (100, 5)
    record_event(engine, "acme", Start(at(2025, 1, 5), "m5", "ethics"), clock)
    view = wallet(engine, "acme", clock.now())
    assert (view.balance, view.assigned) == (95, 0)
    assert [(e.kind, e.credits) for e in view.entries] == [
        ("purchase", 100),
        ("reservation", 5),
        ("spend", 5),
    ]
    assert totals(view.entries) == (95, 0)


def test_refused_credit_events_store_nothing(database_url: str) -> None:
    engine = make(database_url)
    clock = FixedClock(at(2025, 1, 10))
    record_event(engine, "acme", MemberChange(at(2025, 1, 2), "m1", "delete"), clock)
    before = events(engine)
    for event, reason in [
        (Assign(at(2025, 1, 3), "ghost", "x", 1), "member 'ghost'.*unknown member"),
        (Assign(at(2025, 1, 3), "m1", "x", 1), "member 'm1'.*has left"),
        (Start(at(2025, 1, 3), "m2", "x"), "'x' is not assigned"),
        (Unassign(at(2025, 1, 3), "m2", "x"), "'x' is not assigned"),
        (Assign(at(2025, 1, 11), "m2", "x", 1), "in the future"),
    ]:
        with pytest.raises(EventRefused, match=reason):
            record_event(engine, "acme", event, clock)
    assert events(engine) == before
    assert wallet(engine, "acme", clock.now()).entries == ()


def test_a_backdated_departure_cannot_rewrite_the_ledger(database_url: str) -> None:
    engine = make(database_url)
    clock = FixedClock(at(2025, 1, 10))
    record_event(engine, "acme", Assign(at(2025, 1, 5), "m2", "x", 2), clock)
    record_event(engine, "acme", Assign(at(2025, 1, 7), "m3", "x", 1), clock)
    record_event(engine, "acme", Start(at(2025, 1, 8), "m3", "x"), clock)
    # m2 leaving on the 6th would release a reservation before entries already recorded
    with pytest.raises(EventRefused, match="change credit movements already recorded"):
        record_event(engine, "acme", MemberChange(at(2025, 1, 6), "m2", "deactivate"), clock)
    # m3 leaving before the start it made would make that start impossible
    with pytest.raises(EventRefused, match=r"member 'm3'.*has left"):
        record_event(engine, "acme", MemberChange(at(2025, 1, 7, 12), "m3", "deactivate"), clock)
    # a departure that moves no credits may still be reported late
    record_event(engine, "acme", MemberChange(at(2025, 1, 4), "m4", "deactivate"), clock)
    kinds = [entry.kind for entry in wallet(engine, "acme", clock.now()).entries]
    assert kinds == ["reservation", "reservation", "overage"]  # balance 0: all overage


def test_overage_goes_on_the_next_monthly_invoice(database_url: str) -> None:
    engine = make(database_url)
    clock = FixedClock(at(2025, 1, 20))
    recorded = record_event(engine, "acme", Assign(at(2025, 1, 10), "m1", "x", 3), clock)
    assert recorded.alert  # 3 assigned, balance 0
    with engine.connect() as connection:  # the contact is told now, not at the next billing run
        (told,) = [r for r in outbox_of(connection) if r.message.kind == "credit_alert"]
    assert (told.message.at, told.message.recipients) == (at(2025, 1, 10), ("ap@acme.example",))
    assert (told.message.payload["details"], told.message.payload["facts"]["unit_price"]) == (
        {"balance": 0, "assigned": 3},
        "$10.00",
    )
    record_event(engine, "acme", Start(at(2025, 1, 12), "m1", "x"), clock)
    view = wallet(engine, "acme", clock.now())
    assert [(e.kind, e.credits) for e in view.entries] == [("reservation", 3), ("overage", 3)]
    bill(engine, at(2025, 2, 1))
    with engine.connect() as connection:
        renewal = repository.issued_invoices(connection, "acme")[-1]
    assert renewal.invoice.kind == "renewal"
    assert [(line.kind, line.amount) for line in renewal.invoice.lines] == [
        ("seats", 50_000),
        ("credits_overage", 3_000),
    ]
    with engine.connect() as connection:  # the billing run does not tell it again
        kinds = [r.message.kind for r in outbox_of(connection)]
    assert kinds.count("credit_alert") == 1


def test_a_purchase_sent_as_an_invoice_adds_its_credits_when_paid(database_url: str) -> None:
    engine = make(database_url, collection="send_invoice")
    bought = buy_credits(engine, "acme", 20, FixedClock(at(2025, 1, 3)), "send_invoice")
    invoice = bought.invoice
    assert (invoice.status, invoice.invoice.total, bought.attempts) == ("open", 20_000, ())
    assert wallet(engine, "acme", at(2025, 1, 4)).balance == 0
    assert invoice.number is not None
    lifecycle.mark_paid(engine, invoice.number, at(2025, 1, 8), "bank transfer")
    view = wallet(engine, "acme", at(2025, 1, 9))
    assert [(e.at, e.kind, e.credits) for e in view.entries] == [(at(2025, 1, 8), "purchase", 20)]
    bill(engine, at(2025, 1, 9))  # nothing new: the purchase is invoiced once
    with engine.connect() as connection:
        kinds = [e.invoice.kind for e in repository.issued_invoices(connection, "acme")]
    assert kinds == ["initial", "credits"]


def test_a_checkout_is_charged_at_once_whatever_the_plan_collects(database_url: str) -> None:
    """SPEC 7: an account that pays its seats by transfer buys credits by card."""
    engine = make(database_url, collection="send_invoice")
    bought = buy_credits(engine, "acme", 20, FixedClock(at(2025, 1, 3, 9)))
    assert (bought.invoice.number, bought.invoice.status, bought.paid) == (
        "INV-000002",
        "paid",
        True,
    )
    (charge,) = bought.attempts
    assert (charge.attempt.method, charge.amount, charge.receipt) == (
        "succeeds",
        20_000,
        "RCT-000001",
    )
    assert (bought.balance, bought.assigned) == (20, 0)
    with engine.connect() as connection:  # the seats invoice is not charged: it is sent
        statuses = [e.status for e in repository.issued_invoices(connection, "acme")]
    assert statuses == ["open", "paid"]


def test_a_checkout_without_a_payment_method_is_refused(database_url: str) -> None:
    engine = make(database_url, collection="send_invoice")
    set_payment_method(engine, "acme", "none", FixedClock(at(2025, 1, 2)))
    with pytest.raises(CreditsRefused, match="has no payment method on file"):
        buy_credits(engine, "acme", 20, FixedClock(at(2025, 1, 3)))
    assert events(engine) == 50  # nothing recorded
    bought = buy_credits(engine, "acme", 20, FixedClock(at(2025, 1, 3)), "send_invoice")
    assert bought.invoice.status == "open"


def test_a_declined_checkout_adds_nothing_until_a_retry_pays_it(database_url: str) -> None:
    engine = make(database_url, collection="send_invoice")
    set_payment_method(engine, "acme", "declines_first_1", FixedClock(at(2025, 1, 2)))
    bought = buy_credits(engine, "acme", 20, FixedClock(at(2025, 1, 3, 9)))
    assert (bought.invoice.status, bought.balance) == ("open", 0)
    assert [a.attempt.reason for a in bought.attempts] == ["card declined"]
    bill(engine, at(2025, 1, 6, 9))  # the retry, 3 days later, succeeds
    view = wallet(engine, "acme", at(2025, 1, 6, 9))
    assert [(e.at, e.kind, e.credits) for e in view.entries] == [
        (at(2025, 1, 6, 9), "purchase", 20)
    ]


def test_buying_on_a_plan_without_credits_is_refused(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    text = PLAN.replace("COLLECTION", "send_invoice").split("  credits:")[0] + (
        "account: {subscribed_at: 2025-01-01T00:00:00Z}\nuntil: 2025-01-01T00:00:00Z\n"
    )
    import_scenario(engine, parse_scenario(text, "plain.yaml"), "plain", at(2025, 1, 1), True)
    with pytest.raises(CreditsRefused, match="the plan has no credits"):
        buy_credits(engine, "plain", 5, FixedClock(at(2025, 1, 2)))
    with pytest.raises(CreditsRefused, match="the plan has no credits"):
        quote_credits(engine, "plain", 5)


def test_fifty_concurrent_starts_against_ten_credits(database_url: str) -> None:
    """SPEC 7: the balance never goes below zero, even under concurrent starts — exactly 10
    credits spent and 40 charged as overage, whatever order the 50 workers run in."""
    engine = make(database_url)
    buy_credits(engine, "acme", 10, FixedClock(at(2025, 1, 2)))
    clock = FixedClock(at(2025, 1, 10))
    base = at(2025, 1, 3)
    for index in range(1, 51):
        assign = Assign(base + timedelta(minutes=index), f"m{index}", "safety", 1)
        record_event(engine, "acme", assign, clock)

    def start(index: int) -> None:
        record_event(engine, "acme", Start(at(2025, 1, 9), f"m{index}", "safety"), clock)

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(start, range(1, 51)))
    view = wallet(engine, "acme", clock.now())
    kinds = [e.kind for e in view.entries]
    assert kinds.count("spend") == 10 and kinds.count("overage") == 40
    assert sum(e.credits for e in view.entries if e.kind == "overage") == 40
    assert (view.balance, view.assigned) == (0, 0)
    bill(engine, at(2025, 2, 1))
    with engine.connect() as connection:
        renewal = repository.issued_invoices(connection, "acme")[-1]
    overage = [line for line in renewal.invoice.lines if line.kind == "credits_overage"]
    assert sum(line.quantity for line in overage) == 40
    assert sum(line.amount for line in overage) == 40_000
