"""Collection, retries, reminders and dunning (SPEC 8 and 2.2), instants written by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.dunning import (
    Attempt,
    Charge,
    FinalAction,
    MethodChange,
    Receivable,
    Remind,
    collect_with_test_gateway,
    next_action,
)
from seatwise.core.gateway import ChargeRequest, TestGateway, test_method_outcome
from seatwise.core.plans import parse_plan

UTC_ZONE = ZoneInfo("UTC")
ACTIVE_USERS = parse_plan({"preset": "active-users-monthly", "currency": "USD", "price": "8.00"})
LICENCES = parse_plan({"preset": "licences-annual", "currency": "USD", "price": "120.00"})


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# active-users-monthly: net 0, retry 2 days later, 3 attempts, deleted 7 days after the first
# failure. The arrears invoice of the cycle ending 8 Feb 10:00 is $24.00.
ARREARS = Receivable("INV-000001", at(2024, 2, 8, 10), at(2024, 2, 8, 10), 2400)


def test_the_test_gateway_declines_the_first_n_charges_then_succeeds() -> None:
    assert [test_method_outcome("declines_first_2", n).succeeded for n in range(4)] == [
        False,
        False,
        True,
        True,
    ]
    assert not test_method_outcome("none", 0).succeeded
    assert test_method_outcome("none", 0).reason == "no payment method on file"
    gateway = TestGateway()
    outcomes = [
        gateway.charge(
            ChargeRequest("acme", "INV-1", n + 1, "declines_first_1", 100, "USD", at(2024, 1, 1), n)
        )
        for n in range(2)
    ]
    assert [o.succeeded for o in outcomes] == [False, True]
    assert outcomes[1].reference == "test_INV-1/2"  # the idempotency key: invoice/attempt


def test_a_payment_that_succeeds_on_the_third_attempt() -> None:
    methods = [MethodChange(at(2024, 1, 7, 10), "declines_first_2")]
    done = collect_with_test_gateway(ACTIVE_USERS, UTC_ZONE, [ARREARS], methods, at(2024, 3, 1))
    assert [(a.at, a.succeeded) for a in done.attempts] == [
        (at(2024, 2, 8, 10), False),
        (at(2024, 2, 10, 10), False),
        (at(2024, 2, 12, 10), True),
    ]
    assert done.paid_at(ARREARS) == at(2024, 2, 12, 10)
    assert done.final is None  # paid before 15 Feb 10:00


def test_a_payment_that_never_succeeds_deletes_the_account_7_days_after_the_first_failure() -> None:
    methods = [MethodChange(at(2024, 1, 7, 10), "declines")]
    done = collect_with_test_gateway(ACTIVE_USERS, UTC_ZONE, [ARREARS], methods, at(2024, 3, 1))
    assert [a.at for a in done.attempts] == [
        at(2024, 2, 8, 10),
        at(2024, 2, 10, 10),
        at(2024, 2, 12, 10),
    ]  # at most 3 attempts
    assert done.final == FinalAction(at(2024, 2, 15, 10), "INV-000001", "delete")
    assert done.paid_at(ARREARS) is None


def test_updating_the_payment_method_retries_at_once() -> None:
    methods = [
        MethodChange(at(2024, 1, 7, 10), "declines"),
        MethodChange(at(2024, 2, 9, 16, 30), "succeeds"),
    ]
    done = collect_with_test_gateway(ACTIVE_USERS, UTC_ZONE, [ARREARS], methods, at(2024, 3, 1))
    assert [(a.at, a.method, a.succeeded) for a in done.attempts] == [
        (at(2024, 2, 8, 10), "declines", False),
        (at(2024, 2, 9, 16, 30), "succeeds", True),
    ]
    assert done.final is None


def test_reminders_15_7_3_and_1_days_before_the_due_date_of_an_unpaid_invoice() -> None:
    # licences-annual sends invoices (net 30): issued 1 Jan, due 31 Jan, never paid.
    initial = Receivable("INV-000001", at(2024, 1, 1), at(2024, 1, 31), 240_00)
    done = collect_with_test_gateway(LICENCES, UTC_ZONE, [initial], [], at(2024, 3, 1))
    assert [(r.at, r.days_before) for r in done.reminders] == [
        (at(2024, 1, 16), 15),
        (at(2024, 1, 24), 7),
        (at(2024, 1, 28), 3),
        (at(2024, 1, 30), 1),
    ]
    assert done.attempts == () and done.final is None  # sent invoices are not charged


def test_an_invoice_paid_before_its_first_reminder_is_never_reminded() -> None:
    initial = Receivable("INV-000001", at(2024, 1, 1), at(2024, 1, 31), 240_00)
    paid = Receivable("INV-000001", at(2024, 1, 1), at(2024, 1, 31), 240_00, at(2024, 1, 10))
    assert collect_with_test_gateway(LICENCES, UTC_ZONE, [paid], [], at(2024, 3, 1)).reminders == ()
    # the same invoice, still unpaid on the 16th: only the reminders before its payment on the 25th
    reminded = collect_with_test_gateway(LICENCES, UTC_ZONE, [initial], [], at(2024, 1, 25))
    assert [r.days_before for r in reminded.reminders] == [15, 7]


def test_charged_automatically_paid_at_the_retry_before_any_reminder() -> None:
    plan = parse_plan(
        {
            "preset": "licences-annual",
            "currency": "USD",
            "price": "120.00",
            "collection": "charge_automatically",
        }
    )
    initial = Receivable("INV-000001", at(2024, 1, 1), at(2024, 1, 31), 240_00)
    methods = [MethodChange(at(2024, 1, 1), "declines_first_1")]
    done = collect_with_test_gateway(plan, UTC_ZONE, [initial], methods, at(2024, 3, 1))
    assert [(a.at, a.succeeded) for a in done.attempts] == [
        (at(2024, 1, 1), False),
        (at(2024, 1, 4), True),  # retry_after_days 3
    ]
    assert done.reminders == ()


def test_next_action_orders_a_charge_before_the_final_action_and_reminders() -> None:
    first = Attempt("INV-000001", at(2024, 2, 8, 10), "declines", False)
    methods = [MethodChange(at(2024, 1, 7, 10), "declines")]
    action = next_action(ACTIVE_USERS, UTC_ZONE, [ARREARS], [first], methods, set(), at(2024, 3, 1))
    assert action == Charge(at(2024, 2, 10, 10), "INV-000001", "declines", "retry 2")
    assert (
        next_action(ACTIVE_USERS, UTC_ZONE, [ARREARS], [first], methods, set(), at(2024, 2, 9))
        is None
    )
    remind = next_action(
        LICENCES,
        UTC_ZONE,
        [Receivable("INV-000002", at(2024, 2, 1), at(2024, 3, 2), 100)],
        [],
        [],
        set(),
        at(2024, 3, 1),
    )
    assert remind == Remind(at(2024, 2, 16), "INV-000002", 15)


# The invoices about to be issued (``upcoming``) are read only as far as one of them could
# still come first: the answer is the one every receivable, read whole, gives.
_PLANS = [
    ACTIVE_USERS,
    LICENCES,  # sends its invoices: reminders 15, 7, 3 and 1 days before they are due
    parse_plan({"preset": "seats-monthly", "currency": "USD", "price": "10.00",
                "reminders": [5, 1], "net_days": 14}),
]  # fmt: skip
_INSTANTS = st.integers(0, 60).map(lambda days: at(2024, 1, 1) + timedelta(days=days))  # ties


@st.composite
def _receivable(draw: st.DrawFn, number: str, issued: datetime | None = None) -> Receivable:
    issued_at = draw(_INSTANTS) if issued is None else issued
    due_at = issued_at + timedelta(days=draw(st.sampled_from([0, 7, 14, 30])))
    amount = draw(st.sampled_from([0, 100, 2400]))
    collection = draw(st.sampled_from([None, "charge_automatically", "send_invoice"]))
    return Receivable(number, issued_at, due_at, amount, collection=collection)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_upcoming_invoices_give_the_action_all_invoices_read_whole_give(
    data: st.DataObject,
) -> None:
    plan = data.draw(st.sampled_from(_PLANS))
    unpaid = [data.draw(_receivable(f"INV-{n}")) for n in range(data.draw(st.integers(0, 3)))]
    starts = sorted(data.draw(st.lists(_INSTANTS, max_size=6)))  # in the order of their issue
    upcoming = [data.draw(_receivable(f"~{n}", start)) for n, start in enumerate(starts)]
    attempts = [
        Attempt(r.number, r.issued_at + timedelta(days=data.draw(st.integers(0, 9))),
                data.draw(st.sampled_from(["succeeds", "declines"])), data.draw(st.booleans()))
        for r in unpaid if data.draw(st.booleans())
    ]  # fmt: skip
    methods = [MethodChange(at(2024, 1, 1), "succeeds")]
    if data.draw(st.booleans()):
        methods.append(MethodChange(data.draw(_INSTANTS), "declines"))
    reminded = {(r.number, 7) for r in unpaid if data.draw(st.booleans())}
    now = data.draw(_INSTANTS)
    read = []

    def lazily() -> Iterator[Receivable]:
        for receivable in upcoming:
            read.append(receivable)
            yield receivable

    whole = next_action(plan, UTC_ZONE, [*unpaid, *upcoming], attempts, methods, reminded, now)
    lazy = next_action(plan, UTC_ZONE, unpaid, attempts, methods, reminded, now, lazily())
    assert lazy == whole
    if whole is not None and upcoming and whole.at < upcoming[0].issued_at:
        assert read == [upcoming[0]]  # none after the first was worked out
