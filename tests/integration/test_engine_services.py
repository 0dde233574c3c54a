"""The engine's services on both databases, as a story a vendor's finance team lives through:
recording events (future and impossible ones refused, late ones adjusted), drafts, the invoice
lifecycle, credit notes, the projected invoice and explanations. €10.00 a seat a month,
renewed at the active members, invoices sent and paid by transfer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from seatwise.core.account import Cancel
from seatwise.core.invoice_states import InvoiceStateError
from seatwise.core.projection import NextInvoice
from seatwise.core.seat_timeline import Member, MemberChange
from seatwise.engine import invoice_lifecycle as lifecycle
from seatwise.engine.accounts import account_view
from seatwise.engine.billing_run import bill, finalize_drafts
from seatwise.engine.clock import FixedClock
from seatwise.engine.importing import import_scenario
from seatwise.engine.queries import explain_invoice, projected_invoice
from seatwise.engine.recording import EventRefused, record_event
from seatwise.scenario import parse_scenario
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate

SCENARIO = """
name: services
plan: {preset: seats-monthly, currency: EUR, price: "10.00", collection: send_invoice}
account: {subscribed_at: 2025-01-01T00:00:00Z, contacts: [ap@acme.example]}
members: [{count: 3}]
until: 2025-01-01T00:00:00Z
"""


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Engine:
    migrate(database_url)
    engine = make_engine(database_url)
    import_scenario(engine, parse_scenario(SCENARIO, "services.yaml"), "acme", at(2025, 1, 1))
    return engine


def invoices(engine: Engine, drafts: bool = False) -> list[tuple[str | None, str, str, int]]:
    with engine.connect() as connection:
        return [
            (entry.number, entry.invoice.kind, entry.status, entry.invoice.total)
            for entry in repository.issued_invoices(connection, "acme", drafts=drafts)
        ]


def balance(engine: Engine) -> int:
    with engine.connect() as connection:
        return repository.load_account(connection, "acme").credit_balance


def test_future_and_impossible_events_are_refused_and_change_nothing(engine: Engine) -> None:
    clock = FixedClock(at(2025, 1, 10))
    with pytest.raises(EventRefused, match="2025-01-11T00:00:00Z is in the future"):
        record_event(engine, "acme", MemberChange(at(2025, 1, 11), "m1", "deactivate"), clock)
    with pytest.raises(EventRefused, match="member 'ghost'"):
        record_event(engine, "acme", MemberChange(at(2025, 1, 5), "ghost", "deactivate"), clock)
    with pytest.raises(EventRefused, match="member 'm1'"):
        record_event(engine, "acme", MemberChange(at(2025, 1, 5), "m1", "reactivate"), clock)
    with pytest.raises(EventRefused, match="before the subscription"):
        record_event(engine, "acme", MemberChange(at(2024, 12, 5), "new", "activate"), clock)
    with engine.connect() as connection:
        assert len(repository.load_account(connection, "acme").events) == 3  # the import's


def test_a_new_member_is_stored_with_billing_details(engine: Engine) -> None:
    clock = FixedClock(at(2025, 1, 10))
    change = MemberChange(at(2025, 1, 9), "dana", "activate")
    record_event(engine, "acme", change, clock, Member("dana", True, "dana@acme.example"))
    with engine.connect() as connection:
        stored = repository.load_account(connection, "acme")
    assert Member("dana", True, "dana@acme.example") in stored.account.members
    record_event(engine, "acme", Cancel(at(2025, 1, 10)), clock)
    with pytest.raises(EventRefused, match="already cancelled"):
        record_event(engine, "acme", Cancel(at(2025, 1, 10)), clock)


def test_a_late_event_becomes_an_adjustment_on_the_next_invoice(engine: Engine) -> None:
    bill(engine, at(2025, 2, 1))
    assert invoices(engine) == [
        ("INV-000001", "initial", "open", 3000),
        ("INV-000002", "renewal", "open", 3000),
    ]
    # Reported on 5 Feb: m1 left on 15 Jan, so February should have renewed 2 seats.
    recorded = record_event(
        engine,
        "acme",
        MemberChange(at(2025, 1, 15), "m1", "deactivate"),
        FixedClock(at(2025, 2, 5)),
    )
    assert recorded.late
    bill(engine, at(2025, 3, 1))
    with engine.connect() as connection:
        march = repository.find_invoice(connection, "INV-000003")
    assert [(line.kind, line.amount, line.corrects) for line in march.invoice.lines] == [
        ("seats", 2000, None),
        ("adjustment", -1000, "INV-000002"),
    ]
    assert invoices(engine)[:2] == [  # issued invoices never change
        ("INV-000001", "initial", "open", 3000),
        ("INV-000002", "renewal", "open", 3000),
    ]


def test_drafts_follow_the_timeline_until_finalized(engine: Engine) -> None:
    bill(engine, at(2025, 1, 1))
    report = bill(engine, at(2025, 2, 1), drafts=True)
    assert report.invoices == 1
    assert invoices(engine, drafts=True) == [(None, "renewal", "draft", 3000)]
    record_event(
        engine, "acme", MemberChange(at(2025, 1, 20), "m2", "delete"), FixedClock(at(2025, 2, 2))
    )
    bill(engine, at(2025, 2, 1), drafts=True)  # recomputed, not added
    assert invoices(engine, drafts=True) == [(None, "renewal", "draft", 2000)]
    assert finalize_drafts(engine, "acme").invoices == 1
    assert invoices(engine, drafts=True) == []
    assert invoices(engine) == [
        ("INV-000001", "initial", "open", 3000),
        ("INV-000002", "renewal", "open", 2000),
    ]


def test_lifecycle_credit_notes_and_void(engine: Engine) -> None:
    bill(engine, at(2025, 3, 1))
    when = at(2025, 3, 2)
    lifecycle.mark_paid(engine, "INV-000002", when, "bank transfer 2025-03-02")
    # A goodwill credit of €5.00 on a paid invoice goes to the account's credit balance …
    note = lifecycle.issue_credit_note(engine, "INV-000002", 500, "service outage", when)
    assert (note.number, note.to_balance, note.invoice_status) == ("CN-000001", 500, "paid")
    assert balance(engine) == 500
    # … and the next invoice uses it first.
    bill(engine, at(2025, 4, 1))
    with engine.connect() as connection:
        april = repository.find_invoice(connection, "INV-000004")
    assert [(line.kind, line.amount) for line in april.invoice.lines] == [
        ("seats", 3000),
        ("balance_applied", -500),
    ]
    assert balance(engine) == 0
    # Voiding it gives the credit back, and the engine does not bill April again.
    lifecycle.void(engine, "INV-000004", at(2025, 4, 2), "issued in error")
    assert balance(engine) == 500
    assert bill(engine, at(2025, 4, 2)).invoices == 0

    # On an open invoice, credit notes lower what is owed; covering it all settles it.
    lifecycle.issue_credit_note(engine, "INV-000003", 400, "discount", when)
    assert explain_invoice(engine, "INV-000003").amount_due == 2600
    last = lifecycle.issue_credit_note(engine, "INV-000003", 2600, "discount", when)
    assert (last.number, last.invoice_status) == ("CN-000003", "paid")
    details = explain_invoice(engine, "INV-000003")
    assert details.amount_due == 0
    assert [(c.from_status, c.to_status) for c in details.history] == [
        (None, "open"),
        ("open", "paid"),
    ]
    assert details.history[-1].reason == "settled by credit note CN-000003"
    with pytest.raises(InvoiceStateError, match=r"€0\.00 left to credit"):
        lifecycle.issue_credit_note(engine, "INV-000003", 1, "again", when)

    lifecycle.mark_uncollectible(engine, "INV-000001", when, "customer unreachable")
    lifecycle.mark_paid(engine, "INV-000001", at(2025, 5, 1), "paid late")
    with pytest.raises(InvoiceStateError, match="INV-000001 is paid: it cannot become void"):
        lifecycle.void(engine, "INV-000001", at(2025, 5, 2), "too late")
    assert [entry[2] for entry in invoices(engine)] == ["paid", "paid", "paid", "void"]


def test_projection_and_explanation_through_the_engine(engine: Engine) -> None:
    bill(engine, at(2025, 2, 1))
    lifecycle.mark_paid(engine, "INV-000002", at(2025, 2, 2))
    lifecycle.issue_credit_note(engine, "INV-000002", 700, "goodwill", at(2025, 2, 2))
    projected = projected_invoice(engine, "acme", at(2025, 2, 10))
    invoice = projected.projection.invoice
    assert invoice is not None
    assert [(line.kind, line.amount) for line in invoice.lines] == [
        ("seats", 3000),
        ("balance_applied", -700),  # the stored balance, from the credit note
    ]
    assert projected.projection.members == ("m1", "m2", "m3")
    details = explain_invoice(engine, "INV-000001")
    line = details.stored.invoice.lines[0]
    assert line.description == "3 × Seat (at €10.00 / month)"
    assert line.explanation.members == ("m1", "m2", "m3")
    assert "3 member(s) held a seat on 1 Jan 2025" in line.explanation.summary


def test_when_billing_is_behind_the_next_invoice_is_the_one_not_issued_yet(
    engine: Engine,
) -> None:
    """Billed up to 1 January; on 10 March the renewals of 1 February and 1 March are due and
    not issued. The next invoice is February's (3 seats, €30.00), due, not April's."""
    never_billed = account_view(engine, "acme", at(2025, 1, 20))
    assert never_billed.next_invoice == NextInvoice("initial", at(2025, 1, 1), 3000, due=True)
    bill(engine, at(2025, 1, 1))
    behind = account_view(engine, "acme", at(2025, 3, 10))
    assert behind.next_invoice == NextInvoice("renewal", at(2025, 2, 1), 3000, due=True)
    bill(engine, at(2025, 3, 10))
    billed = account_view(engine, "acme", at(2025, 3, 10))
    assert billed.next_invoice == NextInvoice("renewal", at(2025, 4, 1), 3000, due=False)
    assert [kind for _, kind, _, _ in invoices(engine)] == ["initial", "renewal", "renewal"]
