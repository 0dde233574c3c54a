"""Late events never break billing: whatever is reported late, the next run issues what is
missing, never raises, and what was billed plus its adjustments equals a fresh billing of the
final timeline (SPEC 4), on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from seatwise.core.billing import generate_invoices
from seatwise.core.invoicing import Line
from seatwise.core.presets import PRESETS
from seatwise.core.reconcile import IssuedInvoice, reconcile
from seatwise.core.seat_timeline import TRANSITIONS, MemberChange
from seatwise.engine.billing_run import bill
from seatwise.engine.clock import FixedClock
from seatwise.engine.importing import import_scenario
from seatwise.engine.recording import EventRefused, record_event
from seatwise.scenario import parse_scenario
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate

START = datetime(2025, 1, 5, 9, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
ACCOUNT_IDS = itertools.count(1)


def billed_amount(lines: tuple[Line, ...]) -> int:
    """What lines bill, without the credit balance moving money between invoices."""
    return sum(line.amount for line in lines if line.kind != "balance_applied")


def check_late_events_settle(
    engine: Engine, preset: str, base: int, story: list[tuple[int, str, bool]], first_run: int
) -> None:
    """``story``: (days after the previous event, member, reported late?). Events reported in
    time are recorded before a first run; the late ones after it, each dated before it."""
    account_id = f"late{next(ACCOUNT_IDS)}"
    members = f"members: [{{count: {base}}}]\n" if base else ""
    scenario = parse_scenario(
        f"plan: {{preset: {preset}, currency: EUR, price: '108.00'}}\n"
        f"account: {{subscribed_at: {START.isoformat()}, committed_seats: 2}}\n"
        f"{members}until: {NOW.isoformat()}\n"
    )
    import_scenario(engine, scenario, account_id, START, notify_history=True)
    first = START + timedelta(days=first_run)
    states: dict[str, str | None] = {f"m{i}": "active" for i in range(1, base + 1)}
    planned: list[tuple[bool, MemberChange]] = []
    instant = START
    for step, (days, member_pick, late) in enumerate(story):
        instant = min(instant + timedelta(days=days), first)
        member = member_pick if member_pick in states else f"n{step}"
        legal = [a for a, moves in TRANSITIONS.items() if states.get(member) in moves]
        if not legal:  # deleted: nothing more can happen to them
            continue
        action = legal[step % len(legal)]
        states[member] = TRANSITIONS[action][states.get(member)]
        planned.append((late, MemberChange(instant, member, action)))
    for when, reported_late in ((first, False), (NOW, True)):
        for late, change in planned:
            if late == reported_late:
                # a late event illegal where it falls is refused and changes nothing
                with contextlib.suppress(EventRefused):
                    record_event(engine, account_id, change, FixedClock(when))
        if not reported_late:
            bill(engine, first)
    bill(engine, NOW)  # never raises
    with engine.connect() as connection:
        stored = repository.load_account(connection, account_id)
        issued = repository.issued_invoices(connection, account_id)
    fresh = generate_invoices(stored.plan, stored.account, stored.events, NOW)
    waiting = reconcile(
        fresh.proposed,
        [IssuedInvoice(entry.number or "", entry.invoice) for entry in issued],
        NOW,
        stored.plan.currency,
        stored.plan.net_days,
        stored.account.timezone,
    )
    assert waiting.to_issue == ()  # everything due was issued
    billed = sum(billed_amount(entry.invoice.lines) for entry in issued)
    owed_later = sum(line.amount for line in waiting.outstanding)
    assert billed + owed_later == sum(billed_amount(invoice.lines) for invoice in fresh.proposed)
    dates = [entry.invoice.issued_at for entry in issued]
    assert dates == sorted(dates)  # numbers follow issue dates


@pytest.fixture
def store(database_url: str) -> Engine:
    migrate(database_url)
    return make_engine(database_url)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    preset=st.sampled_from(sorted(PRESETS)),
    base=st.integers(0, 4),
    story=st.lists(
        st.tuples(st.integers(0, 60), st.sampled_from(["m1", "m2", "m3", "new"]), st.booleans()),
        min_size=1,
        max_size=10,
    ),
    first_run=st.integers(30, 420),
)
def test_late_events_never_break_a_billing_run(
    store: Engine, preset: str, base: int, story: list[tuple[int, str, bool]], first_run: int
) -> None:
    check_late_events_settle(store, preset, base, story, first_run)


def test_the_reported_late_activation_on_a_contract(store: Engine) -> None:
    """Found under real use: a late activation on a contract made every later run crash, and
    its invoices came back out of time order."""
    scenario = parse_scenario(
        "plan: {preset: contract-annual, currency: EUR, price: '108.00'}\n"
        "account: {subscribed_at: 2025-01-05T09:00:00Z, committed_seats: 3}\n"
        "members: [{count: 3}]\n"
        "events: [{at: 2025-08-20T09:00:00Z, activate: [m4]}]\n"
        "until: 2026-01-01T00:00:00Z\n"
    )
    import_scenario(store, scenario, "acme", NOW, notify_history=True)
    bill(store, datetime(2026, 1, 1, tzinfo=UTC))
    late = MemberChange(datetime(2025, 3, 2, 12, tzinfo=UTC), "late1", "activate")
    assert record_event(store, "acme", late, FixedClock(NOW)).late
    bill(store, NOW)
    with store.connect() as connection:
        issued = repository.issued_invoices(connection, "acme")
    got = [
        (e.number, e.invoice.kind, e.invoice.issued_at, e.invoice.total, e.status) for e in issued
    ]
    assert got == [
        ("INV-000001", "initial", START, 32400, "paid"),
        # m4 from 20 Aug: 4 × 108 × 138/365 − 3 × 108 × 138/365
        ("INV-000002", "interim", datetime(2025, 9, 5, 9, tzinfo=UTC), 4083, "paid"),
        # 5 seats at the term's maximum; INV-000002's interim no longer exists as issued
        ("INV-000003", "renewal", datetime(2026, 1, 5, 9, tzinfo=UTC), 54000 - 4083, "paid"),
        # issued now, in time order: late1 from 2 Mar (309 days left): 4 × … − 3 × …
        ("INV-000004", "interim", NOW, 36572 - 27429, "paid"),
        # m4 again, now the 5th seat: 5 × 108 × 138/365 − 4 × 108 × 138/365
        ("INV-000005", "interim", NOW, 20416 - 16333, "paid"),
    ]
    fresh = 32400 + (36572 - 27429) + (20416 - 16333) + 54000
    assert sum(entry.invoice.total for entry in issued) == fresh
