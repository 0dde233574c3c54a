"""Concurrent commands from real processes, on SQLite and PostgreSQL: starts recorded "now"
are all accepted in the order they are recorded, and a billing run never deadlocks with the
commands that number invoices (one lock order: accounts, then numbers)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from seatwise.cli import example_files
from seatwise.engine.billing_run import bill
from seatwise.engine.credits import wallet
from seatwise.engine.importing import import_scenario
from seatwise.scenario import parse_scenario
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate


def seatwise(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "seatwise.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(processes: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    done = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        done.append((process.returncode, out, err))
    return done


@pytest.fixture
def engine(database_url: str) -> Engine:
    migrate(database_url)
    return make_engine(database_url)


def test_ten_starts_recorded_now_by_ten_processes_are_all_accepted(
    engine: Engine, database_url: str
) -> None:
    """SPEC 7: 3 credits, 10 members each assigned 1; 10 processes start at once with the
    real clock. Every start is recorded (its instant taken under the account's lock), 3 are
    spent and 7 charged as overage; the balance never goes below zero."""
    now = datetime.now(UTC).replace(microsecond=0)
    day = timedelta(days=1)
    assigns = "\n".join(
        f"  - {{at: {(now - day + timedelta(seconds=i)).isoformat()}, "
        f"assign: {{member: m{i}, content: course, credits: 1}}}}"
        for i in range(1, 11)
    )
    text = (
        "plan: {preset: seats-monthly, currency: USD, price: '10.00', "
        "credits: {unit_price: '10.00'}}\n"
        f"account: {{subscribed_at: {(now - 30 * day).isoformat()}}}\n"
        "members: [{count: 10}]\n"
        f"events:\n  - {{at: {(now - 2 * day).isoformat()}, buy_credits: 3}}\n{assigns}\n"
        f"until: {now.isoformat()}\n"
    )
    import_scenario(engine, parse_scenario(text), "acme", now)
    bill(engine, now)  # the purchase is charged at checkout: 3 credits in the wallet
    assert wallet(engine, "acme", now).balance == 3
    db = database_url
    starts = [
        seatwise("event", "acme", "start", f"m{i}", "--content", "course", "--database-url", db)
        for i in range(1, 11)
    ]
    for code, _out, err in finish(starts):
        assert code == 0, err
    view = wallet(engine, "acme", datetime.now(UTC))
    kinds = [entry.kind for entry in view.entries]
    assert (kinds.count("spend"), kinds.count("overage")) == (3, 7)
    assert (view.balance, view.assigned) == (0, 0)
    instants = [entry.at for entry in view.entries if entry.kind in ("spend", "overage")]
    assert instants == sorted(instants)


def test_a_billing_run_never_deadlocks_with_commands_that_number_invoices(
    engine: Engine, database_url: str
) -> None:
    """A run over 60 accounts (two transactions) while `payment-method` charges unpaid
    invoices at once, `credits buy` issues a purchase and `finalize` issues drafts: each locks
    its account before it takes numbers, as the run does, so none waits for another in a
    cycle. Three rounds; every command succeeds and the numbers have no gap."""
    initech = dict(example_files())["2_active_users_monthly.yaml"]
    declining = initech.replace(
        'price: "8.00"',  # declined for ever, never closed: every account keeps owing
        'price: "8.00"\n  dunning: {retry_after_days: 30, max_attempts: 50, grace_days: 3650}',
    ).replace("contacts: [", "payment_method: declines\n  contacts: [")
    for index in range(59):
        import_scenario(engine, parse_scenario(declining), f"a{index:03d}", datetime.now(UTC))
    credits = initech.replace('price: "8.00"', 'price: "8.00"\n  credits: {unit_price: "1.00"}')
    import_scenario(engine, parse_scenario(credits), "zz-credits", datetime.now(UTC))
    db = ("--database-url", database_url)
    for round_, month in enumerate((3, 6, 9)):
        assert seatwise("bill", "--drafts", "--until", "2025-12-09T00:00:00Z", *db).wait() == 0
        running = [
            seatwise("bill", "--until", f"2025-{month:02d}-09T00:00:00Z", *db),
            seatwise("payment-method", f"a{55 + round_:03d}", "succeeds", *db),
            seatwise("credits", "buy", "zz-credits", "5", *db),
            seatwise("finalize", f"a{52 + round_:03d}", *db),
        ]
        for code, _out, err in finish(running):
            assert code == 0, err
            assert "deadlock" not in err.lower()
    with engine.connect() as connection:
        numbers = sorted(
            entry.number or ""
            for account_id in repository.account_ids(connection)
            for entry in repository.issued_invoices(connection, account_id)
        )
    assert numbers == [f"INV-{n:06d}" for n in range(1, len(numbers) + 1)]
