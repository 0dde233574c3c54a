"""Only what is due (issue: billing that scales): a run takes the accounts with something due
by its `until`, or with news since their last run, and leaves the others alone.

Two stores hold the same accounts. Both are billed at the same instants, every 11 days over
twenty months (so renewals, cycles, statements, retries, reminders, final actions and purges
fall between runs), one store taking only what is due, the other every account; halfway, the
same late event, payment method and payment by hand are recorded in both. At the end both
hold the same invoices (numbers included: within a run the accounts are billed in id order,
and an account with nothing due issues nothing), the same charges, reminders and messages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from seatwise.core.seat_timeline import Member, MemberChange
from seatwise.engine.billing_run import bill
from seatwise.engine.clock import FixedClock
from seatwise.engine.importing import import_scenario
from seatwise.engine.ingest import EventRequest, record_events
from seatwise.engine.payments import set_payment_method
from seatwise.engine.recording import record_event
from seatwise.scenario import load_scenario
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import accounts

SCENARIOS = Path(__file__).parents[1] / "scenarios"
EXAMPLES = Path(__file__).parents[2] / "src" / "seatwise" / "examples"
FILES = [
    SCENARIOS / "dunning_suspends_advance_plan.yaml",
    SCENARIOS / "payment_succeeds_on_third_attempt.yaml",
    SCENARIOS / "resigned_account_purged_after_120_days.yaml",
    SCENARIOS / "reminders_15_7_3_1.yaml",
    SCENARIOS / "credits_paid_on_a_retry.yaml",
    SCENARIOS / "active_users_cancel.yaml",
    SCENARIOS / "contract_delayed_start.yaml",
    SCENARIOS / "payment_method_update_retries_at_once.yaml",
    SCENARIOS / "monthly_pending_threshold.yaml",
    SCENARIOS / "seats_annual_threshold_second_change.yaml",
    SCENARIOS / "credits_overage_at_zero_balance.yaml",
    SCENARIOS / "credits_overage_with_contract_interim.yaml",
    EXAMPLES / "1_licences_annual.yaml",
]
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2024, 9, 1, tzinfo=UTC)
NOW = FixedClock(datetime(2026, 6, 1, tzinfo=UTC))


def store(url: str) -> Engine:
    migrate(url)
    engine = make_engine(url)
    for path in FILES:
        import_scenario(engine, load_scenario(path), path.stem, NOW.now())
    return engine


def news(engine: Engine, at: datetime) -> None:
    """The same things recorded in both stores, between two runs: a late hire (its
    adjustment), a working card for the account its dunning suspended."""
    late = MemberChange(datetime(2023, 2, 20, tzinfo=UTC), "late-hire", "activate")
    record_event(engine, "monthly_pending_threshold", late, NOW, Member("late-hire"))
    set_payment_method(engine, "payment_succeeds_on_third_attempt", "succeeds", NOW, at=at)


def plain(value: Any) -> Any:
    """A value as both databases can be compared: instants as SQLite's UTC text, booleans
    as 0/1 (raw SQL, no column types)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def contents(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:

        def rows(query: str) -> list[tuple[Any, ...]]:
            return [tuple(map(plain, row)) for row in connection.execute(text(query))]

        return {
            "invoices": rows(
                "SELECT account_id, number, kind, status, issued_at, period_start, total "
                "FROM invoices ORDER BY id"
            ),
            "lines": rows(
                "SELECT invoice_id, position, kind, amount FROM invoice_lines "
                "ORDER BY invoice_id, position"
            ),
            "attempts": rows(
                "SELECT invoice_number, at, succeeded, receipt FROM payment_attempts ORDER BY id"
            ),
            "reminders": rows(
                "SELECT invoice_number, days_before, at FROM reminders ORDER BY 1, 2"
            ),
            "messages": rows("SELECT kind, at FROM outbox ORDER BY id"),
            "accounts": rows(
                "SELECT id, status, credit_balance, purged_at FROM accounts ORDER BY id"
            ),
        }


def test_billing_only_what_is_due_changes_nothing(database_url: str, tmp_path: Path) -> None:
    due = store(database_url)
    every = store(f"sqlite:///{tmp_path / 'every.db'}")
    touched, runs, at = 0, 0, START
    while at < END:
        at += timedelta(days=11)
        if START + timedelta(days=405) <= at < START + timedelta(days=416):  # mid-Feb 2024
            news(due, at)
            news(every, at)
        report = bill(due, at, clock=NOW)
        bill(every, at, clock=NOW, everything=True)
        touched += report.accounts
        runs += 1
    assert contents(due) == contents(every)
    # the filter did its work: most runs found most accounts with nothing due
    assert touched < runs * len(FILES) / 2, (touched, runs)
    with due.connect() as connection:
        next_due = dict(connection.execute(select(accounts.c.id, accounts.c.next_due_at)).all())
    assert all(instant is not None for instant in next_due.values())
    due.dispose()
    every.dispose()


def test_news_makes_an_account_due_again(database_url: str) -> None:
    engine = store(database_url)
    until = datetime(2024, 6, 1, tzinfo=UTC)
    first = bill(engine, until, clock=NOW)
    assert first.accounts == len(FILES) and first.not_due == 0
    again = bill(engine, until, clock=NOW)  # the same instant: nothing is due for anyone
    assert (again.accounts, again.not_due, again.invoices) == (0, len(FILES), 0)
    late = MemberChange(datetime(2023, 3, 1, tzinfo=UTC), "late-hire", "activate")
    record_event(engine, "monthly_pending_threshold", late, NOW, Member("late-hire"))
    after = bill(engine, until, clock=NOW)
    assert after.accounts == 1 and after.invoices == 1  # its adjustment
    assert bill(engine, until, clock=NOW, everything=True).accounts == len(FILES)
    engine.dispose()


def test_reported_events_make_their_accounts_due_again(database_url: str) -> None:
    """Through ingestion (a batch, the API's group commits): an account told of an event is
    due again; told again, it stays due (nothing to write); the others are left alone."""
    engine = store(database_url)
    until = datetime(2024, 6, 1, tzinfo=UTC)
    bill(engine, until, clock=NOW)

    def due() -> dict[str, bool]:
        with engine.connect() as connection:
            rows = connection.execute(select(accounts.c.id, accounts.c.next_due_at))
            return {row.id: row.next_due_at is None for row in rows}

    assert not any(due().values())
    account = "monthly_pending_threshold"
    for hire in ("late-hire", "later-hire"):
        late = EventRequest(account, "activate", hire, datetime(2023, 3, 1, tzinfo=UTC))
        (result,) = record_events(engine, [late], NOW)
        assert result.status == "late"
        assert [a for a, is_due in due().items() if is_due] == [account]
    after = bill(engine, until, clock=NOW)
    assert after.accounts == 1 and after.invoices == 1  # one adjustment for both hires
    engine.dispose()
