"""Recompute-and-diff: issued invoices are never rewritten; late events become adjustments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from seatwise.core.account import Account, Cancel
from seatwise.core.billing import generate_invoices
from seatwise.core.invoicing import Invoice, settle
from seatwise.core.money import currency
from seatwise.core.plans import parse_plan
from seatwise.core.reconcile import IssuedInvoice, reconcile
from seatwise.core.seat_timeline import MemberChange

PLAN = parse_plan({"preset": "active-users-monthly", "currency": "USD", "price": "8.00"})
USD = currency("USD")
UTC_ZONE = ZoneInfo("UTC")
START = datetime(2024, 1, 7, 10, tzinfo=UTC)  # anchor 8 Jan 10:00


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=UTC)


def proposal(events: Sequence[MemberChange], until: datetime) -> tuple[Invoice, ...]:
    return generate_invoices(PLAN, Account(subscribed_at=START), events, until).proposed


def issue_all(
    proposed: Sequence[Invoice], history: list[IssuedInvoice], now: datetime
) -> list[IssuedInvoice]:
    """What an engine does: reconcile, settle from zero, number, store."""
    plan = reconcile(proposed, history, now, USD, PLAN.net_days, UTC_ZONE)
    settled, _ = settle(plan.to_issue, 0, USD)
    for invoice in settled:
        history.append(IssuedInvoice(f"INV-{len(history) + 1:06d}", invoice))
    return history


BASE = [MemberChange(START, "a", "activate"), MemberChange(START, "b", "activate")]


def test_running_twice_issues_nothing_the_second_time() -> None:
    history = issue_all(proposal(BASE, at(3, 8, 10)), [], at(3, 8, 10))
    assert [entry.invoice.total for entry in history] == [1600, 1600]
    again = reconcile(proposal(BASE, at(3, 8, 10)), history, at(3, 8, 10), USD, 0, UTC_ZONE)
    assert again.to_issue == () and again.outstanding == ()


def test_invoices_not_yet_due_are_not_issued() -> None:
    history = issue_all(proposal(BASE, at(3, 1)), [], at(2, 20))
    assert [entry.invoice.issued_at for entry in history] == [at(2, 8, 10)]


def test_a_late_event_becomes_an_adjustment_on_the_next_invoice() -> None:
    history = issue_all(proposal(BASE, at(2, 8, 10)), [], at(2, 8, 10))
    assert history[0].invoice.total == 1600  # a and b in the first cycle
    # Reported on 1 Mar: c had joined on 20 Jan, inside the first (already invoiced) cycle.
    late = [*BASE, MemberChange(at(1, 20), "c", "activate")]
    waiting = reconcile(proposal(late, at(3, 1)), history, at(3, 1), USD, 0, UTC_ZONE)
    assert waiting.to_issue == ()
    assert [(line.kind, line.amount, line.corrects) for line in waiting.outstanding] == [
        ("adjustment", 800, "INV-000001")
    ]
    history = issue_all(proposal(late, at(3, 8, 10)), history, at(3, 8, 10))
    second = history[1].invoice
    assert history[0].invoice.total == 1600  # never rewritten
    assert [(line.kind, line.amount) for line in second.lines] == [
        ("seats", 2400),  # a, b, c in the second cycle
        ("adjustment", 800),  # c in the first cycle, settled now
    ]
    assert second.lines[1].description == "Adjustment to INV-000001 (arrears, late events)"
    assert "from $16.00 to $24.00" in second.lines[1].explanation.summary
    # and nothing more is owed on the next run
    again = reconcile(proposal(late, at(3, 8, 10)), history, at(3, 8, 10), USD, 0, UTC_ZONE)
    assert again.to_issue == () and again.outstanding == ()


def test_a_late_cancellation_credits_the_invoices_it_undoes() -> None:
    history = issue_all(proposal(BASE, at(3, 8, 10)), [], at(3, 8, 10))
    assert [entry.number for entry in history] == ["INV-000001", "INV-000002"]
    # Reported on 10 Mar: the account had unsubscribed on 1 Feb. The subscription ended on
    # 8 Feb and its last cycle is not billed (SPEC 2.2): neither invoice should exist.
    late = [*BASE, Cancel(at(2, 1))]
    result = reconcile(proposal(late, at(3, 10)), history, at(3, 10), USD, 0, UTC_ZONE)
    assert result.to_issue == ()  # nothing is due any more to carry the credits
    assert [(line.amount, line.corrects) for line in result.outstanding] == [
        (-1600, "INV-000001"),
        (-1600, "INV-000002"),
    ]
    assert "no longer produces the arrears invoice INV-000001" in (
        result.outstanding[0].explanation.summary
    )
