"""The billing core through its Python API, without YAML or a database."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

import seatwise
from seatwise.core.account import Account, Cancel
from seatwise.core.billing import generate_invoices
from seatwise.core.billing_walk import BillingWalk
from seatwise.core.errors import TimelineError
from seatwise.core.plans import parse_plan
from seatwise.core.seat_timeline import Member, MemberChange


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


T0 = datetime(2025, 1, 1, tzinfo=UTC)


def joins(instant: datetime, *members: str) -> list[MemberChange]:
    return [MemberChange(instant, member, "activate") for member in members]


def test_library_docstring_example() -> None:
    plan = seatwise.parse_plan({"preset": "seats-annual", "currency": "EUR", "price": "108.00"})
    start = at(2021, 2, 15)
    events = [seatwise.MemberChange(start, f"m{i}", "activate") for i in range(80)]
    result = seatwise.generate_invoices(plan, seatwise.Account(subscribed_at=start), events, start)
    assert result.invoices[0].total == 864000


def test_spec_5_pair_with_its_explanation() -> None:
    plan = parse_plan(
        {
            "preset": "seats-annual",
            "currency": "EUR",
            "price": "108.00",
            "pending": {"invoice": "immediately"},
        }
    )
    start = at(2021, 2, 15)
    members = [f"m{i}" for i in range(1, 81)]
    events = [*joins(start, *members), *joins(at(2021, 3, 15, 9), "m81", "m82")]
    result = generate_invoices(
        plan, Account(subscribed_at=start, committed_seats=80), events, until=at(2021, 3, 16)
    )
    interim = result.invoices[1]
    assert interim.kind == "interim"
    assert [(line.kind, line.quantity, line.amount) for line in interim.lines] == [
        ("remaining_time", 82, 817664),
        ("unused_time", 80, -797721),
    ]
    assert interim.total == 19943
    why = interim.lines[0].explanation
    assert why.members == ("m81", "m82")
    assert "337/365 days" in why.summary and "80 to 82" in why.summary
    assert [change.action for change in why.changes] == ["activate", "activate"]


def test_same_inputs_same_invoices() -> None:
    plan = parse_plan({"preset": "contract-annual", "price": "100.00"})
    start = at(2023, 1, 1)
    events = [*joins(start, "a", "b"), *joins(at(2023, 5, 5), "c"), Cancel(at(2023, 6, 1))]
    account = Account(subscribed_at=start, committed_seats=2)
    first = generate_invoices(plan, account, events, at(2024, 2, 1))
    second = generate_invoices(plan, account, list(events), at(2024, 2, 1))
    assert first.invoices == second.invoices
    assert first.state.status == "cancelled"


def test_statement_recipients_include_billing_managers_with_email() -> None:
    start = at(2023, 1, 1)
    account = Account(
        subscribed_at=start,
        contacts=("ap@acme.example",),
        members=(Member("boss", manage_billing=True, email="boss@acme.example"), Member("dev")),
    )
    from seatwise.core.seat_timeline import SeatTimeline

    seats = SeatTimeline(joins(start, "boss", "dev"))
    assert account.billing_recipients(seats, start) == ("ap@acme.example", "boss@acme.example")
    seats.apply(MemberChange(at(2023, 2, 1), "boss", "deactivate"))
    assert account.billing_recipients(seats, at(2023, 2, 1)) == ("ap@acme.example",)


def test_cancel_before_a_delayed_start_bills_nothing() -> None:
    plan = parse_plan({"preset": "contract-annual", "price": "100.00"})
    account = Account(subscribed_at=at(2023, 1, 1), start_at=at(2023, 3, 1), committed_seats=5)
    result = generate_invoices(plan, account, [Cancel(at(2023, 2, 1))], at(2024, 1, 1))
    assert result.invoices == ()
    assert result.state.status == "cancelled"


def test_arrears_projection_of_billed_seats_mid_cycle() -> None:
    plan = parse_plan({"preset": "active-users-monthly", "price": "8.00"})
    start = at(2024, 1, 7, 10)
    events = [
        *joins(start, "a"),
        *joins(at(2024, 1, 20), "b"),
        MemberChange(at(2024, 1, 25), "b", "delete"),
    ]
    result = generate_invoices(plan, Account(subscribed_at=start), events, at(2024, 1, 30))
    assert result.invoices == ()
    assert result.state.billed_seats == 2  # a and b both held a seat in this cycle


def test_no_statement_after_dunning_s_final_action() -> None:
    """A licence plan's monthly statement is not issued once the account is suspended, even
    when the suspension and the next anniversary fall in one run (found by the checkpoint
    property: a run per day issued nothing, one run for the month issued a statement)."""
    from seatwise.core.account import Terminate

    plan = parse_plan({"preset": "licences-annual", "price": "120.00"})
    start = datetime(2023, 1, 31, 9, 30, tzinfo=UTC)
    account = Account(subscribed_at=start)
    events = [
        MemberChange(start, "ana", "activate"),
        Terminate(datetime(2023, 2, 1, tzinfo=UTC), "suspend"),
    ]
    result = generate_invoices(plan, account, events, datetime(2023, 6, 1, tzinfo=UTC))
    assert [(i.kind, i.issued_at, i.total) for i in result.invoices] == [("initial", start, 12000)]
    assert result.state.status == "suspended"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (MemberChange(T0 + timedelta(days=40), "m1", "activate"), "cannot activate"),
        (MemberChange(T0 + timedelta(days=40), "ghost", "deactivate"), "does not exist"),
        (MemberChange(T0 + timedelta(days=400), "m2", "reactivate"), "more than 6 months"),
    ],
)
def test_the_walk_refuses_an_illegal_member_change(change: MemberChange, message: str) -> None:
    """The walk's sweep validates the timeline (the walk builds no checked timeline of its
    own): the same refusal as :class:`SeatTimeline`'s, member and instant named."""
    plan = parse_plan({"preset": "seats-monthly", "price": "10.00"})
    events = [
        MemberChange(T0, "m1", "activate"),
        MemberChange(T0, "m2", "activate"),
        MemberChange(T0 + timedelta(days=10), "m2", "deactivate"),
        change,
    ]
    with pytest.raises(TimelineError, match=message) as caught:
        generate_invoices(plan, Account(subscribed_at=T0), events, T0 + timedelta(days=500))
    assert f"member '{change.member}'" in str(caught.value)
    legal = generate_invoices(plan, Account(subscribed_at=T0), events[:3], T0 + timedelta(days=40))
    assert [(i.kind, i.issued_at, i.total) for i in legal.invoices] == [
        ("initial", T0, 2000),  # m1 and m2 at 10.00
        ("renewal", datetime(2025, 2, 1, tzinfo=UTC), 1000),  # m2 left on 11 Jan
    ]


def test_a_walk_keeps_fewer_than_thirty_fields() -> None:
    """From its thirtieth attribute on, an instance of Python 3.11 gets a dictionary of its
    own and every attribute read slows: a walk reads its state at every event (a thirtieth
    field once cost the core's walk 2% of its instructions)."""
    assert len(dataclasses.fields(BillingWalk)) < 30
