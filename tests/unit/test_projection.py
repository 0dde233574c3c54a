"""The projected invoice: the next invoice if the cycle ended at a given instant (SPEC 6).
Amounts worked out by hand from SPEC's formulas."""

from datetime import UTC, datetime

from seatwise.core.account import Account, Cancel
from seatwise.core.plans import parse_plan
from seatwise.core.projection import project_invoice
from seatwise.core.seat_timeline import MemberChange


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


ACTIVE_USERS = parse_plan({"preset": "active-users-monthly", "currency": "USD", "price": "8.00"})
SUBSCRIBED = at(2025, 1, 7, 10)
TEAM = [
    MemberChange(SUBSCRIBED, "ana", "activate"),
    MemberChange(SUBSCRIBED, "ben", "activate"),
    MemberChange(at(2025, 1, 20, 9), "cleo", "activate"),
    MemberChange(at(2025, 1, 25, 9), "ben", "deactivate"),
]


def test_arrears_cycle_so_far_counts_everyone_active_in_it() -> None:
    projection = project_invoice(
        ACTIVE_USERS, Account(subscribed_at=SUBSCRIBED), TEAM, at(2025, 1, 30)
    )
    invoice = projection.invoice
    assert invoice is not None
    assert (invoice.kind, invoice.period.start, invoice.period.end) == (
        "arrears",
        SUBSCRIBED,
        at(2025, 1, 30),
    )
    assert [(line.quantity, line.amount) for line in invoice.lines] == [(3, 2400)]
    assert sorted(projection.members) == ["ana", "ben", "cleo"]


def test_after_the_arrears_invoice_only_the_new_cycle_counts() -> None:
    # The first cycle was invoiced on 8 Feb 10:00 (anchor delayed 24 hours); ben had left.
    projection = project_invoice(
        ACTIVE_USERS, Account(subscribed_at=SUBSCRIBED), TEAM, at(2025, 2, 10)
    )
    assert projection.invoice is not None
    assert projection.invoice.period.start == at(2025, 2, 8, 10)
    assert projection.invoice.total == 1600  # ana and cleo, 2 × $8.00
    assert sorted(projection.members) == ["ana", "cleo"]


CONTRACT = parse_plan({"preset": "contract-annual", "currency": "EUR", "price": "108.00"})
START = at(2021, 2, 15)
CONTRACT_TEAM = [
    MemberChange(START, "ana", "activate"),
    MemberChange(START, "ben", "activate"),
    MemberChange(at(2021, 3, 16), "cleo", "activate"),
]


def test_advance_plan_shows_the_renewal_with_the_pending_true_up() -> None:
    account = Account(subscribed_at=START, committed_seats=2)
    projection = project_invoice(CONTRACT, account, CONTRACT_TEAM, at(2021, 3, 20))
    invoice = projection.invoice
    assert invoice is not None
    assert invoice.kind == "renewal"
    assert (invoice.period.start, invoice.period.end) == (at(2022, 2, 15), at(2023, 2, 15))
    # 3 seats renew at €108.00; cleo's seat from 16 Mar is pending: 336/365 of the term.
    # remaining 324.00 × 336/365 = 298.2575… → 298.26; unused −216.00 × 336/365 → −198.84
    assert [(line.kind, line.amount) for line in invoice.lines] == [
        ("seats", 32400),
        ("remaining_time", 29826),
        ("unused_time", -19884),
    ]
    assert invoice.total == 42342
    assert sorted(projection.members) == ["ana", "ben", "cleo"]


def test_projection_uses_the_credit_balance_given() -> None:
    account = Account(subscribed_at=START, committed_seats=2)
    projection = project_invoice(
        CONTRACT, account, CONTRACT_TEAM, at(2021, 3, 20), credit_balance=10000
    )
    assert projection.invoice is not None
    assert projection.invoice.lines[-1].kind == "balance_applied"
    assert projection.invoice.total == 42342 - 10000


def test_a_cancelled_subscription_without_pending_items_projects_nothing() -> None:
    account = Account(subscribed_at=START, committed_seats=2)
    events = [*CONTRACT_TEAM[:2], Cancel(at(2021, 4, 1))]
    projection = project_invoice(CONTRACT, account, events, at(2021, 5, 1))
    assert projection.invoice is None
    assert "ends on 15 Feb 2022" in projection.note


def test_before_the_service_starts_there_is_nothing_to_project() -> None:
    projection = project_invoice(CONTRACT, Account(subscribed_at=START), [], at(2021, 1, 1))
    assert projection.invoice is None and "not started" in projection.note


def test_the_projection_says_which_invoice_comes_next() -> None:
    """A licences-annual projection shows the renewal, but the next invoice is the monthly
    statement; an arrears projection's next invoice is the end of its cycle."""
    licences = parse_plan({"preset": "licences-annual", "currency": "USD", "price": "120.00"})
    start = at(2025, 1, 1)
    team = [MemberChange(start, f"m{i}", "activate") for i in range(1, 11)]
    team.append(MemberChange(at(2025, 3, 5), "m11", "activate"))
    projection = project_invoice(licences, Account(subscribed_at=start), team, at(2025, 3, 10))
    assert projection.invoice is not None and projection.invoice.kind == "renewal"
    coming = projection.next_invoice
    assert coming is not None
    # 1 additional licence from 5 Mar: $120.00 × 302/365 = $99.29, on the 1 Apr statement
    assert (coming.kind, coming.at, coming.total) == ("statement", at(2025, 4, 1), 9929)
    assert projection.note.endswith("The next invoice is the statement of 1 Apr 2025.")

    arrears = project_invoice(
        ACTIVE_USERS, Account(subscribed_at=SUBSCRIBED), TEAM, at(2025, 1, 30)
    ).next_invoice
    assert arrears is not None
    assert (arrears.kind, arrears.at, arrears.total) == ("arrears", at(2025, 2, 8, 10), 2400)
