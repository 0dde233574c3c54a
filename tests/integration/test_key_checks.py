"""Writes have their foreign keys checked by the referenced table's key on PostgreSQL, even
when the connection planned that check while the table was small and had statistics saying so
(an ``ANALYZE`` of a new store, by an operator or by autovacuum). PostgreSQL plans the check
once per connection and keeps the plan: planned so, it scanned the whole table for each row
written, as the table grew — the benchmark's 3,000 accounts billed in ten times the time,
PostgreSQL's CPU 22.7 ms an account instead of 0.8 (issue 14); events recorded scanned the
accounts once for each event, new member and vendor id."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from plan_store import store_with_plan
from sqlalchemy import Engine, text

from seatwise.core.account import Account
from seatwise.engine.billing_run import bill
from seatwise.engine.clock import FixedClock
from seatwise.engine.ingest import EventRequest, record_events
from seatwise.store import repository
from seatwise.store.database import make_engine, write_transaction
from seatwise.store.driver import keys_checked_by_index, lookups_planned

CLOCK = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
ACCOUNTS = 120  # three of a run's transactions (50 accounts each): the table grows between


def _table_reads(engine: Engine, table: str, written: str, rows: int) -> tuple[int, int]:
    """How many sequential scans read ``table`` and how many rows they read, once the
    connections' counts have arrived (the ``rows`` they inserted into ``written`` counted)."""
    with engine.connect() as connection:
        for _ in range(100):
            connection.execute(text("SELECT pg_stat_clear_snapshot()"))
            row = connection.execute(
                text(
                    "SELECT t.seq_scan, t.seq_tup_read, w.n_tup_ins FROM pg_stat_user_tables t, "
                    "pg_stat_user_tables w WHERE t.relname = :table AND w.relname = :written"
                ),
                {"table": table, "written": written},
            ).one()
            if row.n_tup_ins >= rows:
                return row.seq_scan, row.seq_tup_read
            time.sleep(0.05)
    raise AssertionError("the connections' table counts never arrived")


def _skip_on_sqlite(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite checks a foreign key by the referenced table's key")


def test_the_checks_planned_while_the_invoices_were_few_still_use_the_key(
    database_url: str,
) -> None:
    _skip_on_sqlite(database_url)
    made = store_with_plan(database_url, CLOCK)
    with write_transaction(made) as connection:  # stored as imported: nothing billed yet
        for n in range(ACCOUNTS):
            # the first transaction's accounts (50) have one invoice each: the checks are
            # planned while the table holds 50 invoices; the others then add twelve each
            since = (
                datetime(2025, 12, 15, tzinfo=UTC) if n < 50 else datetime(2025, 1, 1, tzinfo=UTC)
            )
            account = Account(subscribed_at=since, committed_seats=3)
            repository.save_account(
                connection, f"acc{n:03d}", "p", account, "succeeds", [], CLOCK.now()
            )
    with made.connect() as connection:  # statistics: the invoices table is empty
        connection.execute(text("ANALYZE"))
        connection.commit()
    made.dispose()
    engine = make_engine(database_url)  # new connections: their checks are planned from here
    report = bill(engine, CLOCK.now(), clock=CLOCK)
    engine.dispose()  # the connections end, and report what they read
    assert not report.failed
    assert report.accounts == ACCOUNTS
    assert report.invoices == 50 + 70 * 13  # 15 Dec 2025; 1 Jan 2025 … 1 Jan 2026
    observer = make_engine(database_url)
    with observer.connect() as connection:
        lines = connection.execute(text("SELECT count(*) FROM invoice_lines")).scalar_one()
    scans, rows_read = _table_reads(observer, "invoices", "invoice_lines", lines)
    observer.dispose()
    # no row written scanned the table: with the checks planned as PostgreSQL chose, 3,083
    # scans read 1,388,840 rows, a scan for each line and status change written; planned by
    # the key, 203 scans read 5,000 rows (the run's reads, planned by the statistics)
    assert scans < report.invoices, (scans, rows_read)


def test_events_recorded_after_the_accounts_grew_check_them_by_the_key(
    database_url: str,
) -> None:
    """The same for the events a batch records (each event, new member and vendor id names
    its account): checks planned while the store had 5 accounts, then 500 more stored."""
    _skip_on_sqlite(database_url)
    engine = store_with_plan(database_url, CLOCK)
    subscribed = Account(subscribed_at=datetime(2025, 12, 1, tzinfo=UTC))

    def store_accounts(first: int, count: int) -> None:
        with write_transaction(engine) as connection:
            for n in range(first, first + count):
                repository.save_account(
                    connection, f"acc{n:03d}", "p", subscribed, "succeeds", [], CLOCK.now()
                )

    def record(accounts: range, batch: str) -> None:
        requests = [
            EventRequest(f"acc{n:03d}", "activate", f"{batch}-m{k}", id=f"{batch}-{n}-{k}")
            for n in accounts
            for k in range(2)
        ]
        results = record_events(engine, requests, CLOCK)
        assert all(result.seq is not None for result in results), results

    store_accounts(0, 5)
    with engine.connect() as connection:  # statistics: 5 accounts
        connection.execute(text("ANALYZE"))
        connection.commit()
    record(range(5), "first")  # the checks planned (the pool's one connection)
    store_accounts(5, 500)  # no statistics gathered since
    record(range(5, 505), "second")  # 1,000 events, 1,000 new members, 1,000 vendor ids
    engine.dispose()
    observer = make_engine(database_url)
    scans, rows_read = _table_reads(observer, "accounts", "event_ids", 1_010)
    observer.dispose()
    # with the checks planned as PostgreSQL chose, a scan of the accounts for each of the
    # 3,000 rows: 3,536 scans read 895,350 rows; planned by the key, 506 read 128,760 (the
    # setting up's reads, storing the accounts one by one)
    assert scans < 1_000, (scans, rows_read)


def test_the_settings_are_as_they_were_after_blocks_inside_each_other(database_url: str) -> None:
    """A block that plans by index inside another sends nothing of its own: the settings the
    outer block kept are those it restores (the inner one kept the outer's, and restored them
    to sequential scans off)."""
    _skip_on_sqlite(database_url)
    engine = store_with_plan(database_url, CLOCK)
    settings = text(
        "SELECT current_setting('plan_cache_mode') || ' ' || current_setting('enable_seqscan')"
    )
    with write_transaction(engine) as connection:
        before = connection.execute(settings).scalar_one()
        with lookups_planned(connection, 1):
            with keys_checked_by_index(connection):
                inside = connection.execute(settings).scalar_one()
            assert connection.execute(settings).scalar_one() == inside
        after = connection.execute(settings).scalar_one()
    engine.dispose()
    assert (before, inside, after) == ("auto on", "force_generic_plan off", "auto on")
