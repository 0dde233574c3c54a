"""A billing run's writes have their foreign keys checked by the invoices' primary key on
PostgreSQL, even when the run's connection planned that check while the invoices table was
small and had statistics saying so (an ``ANALYZE`` of a new store, by an operator or by
autovacuum). PostgreSQL plans the check once per connection and keeps the plan: planned so,
it scanned the whole table for each line and status change written, as the table grew — the
benchmark's 3,000 accounts billed in ten times the time, PostgreSQL's CPU 22.7 ms an account
instead of 0.8 (issue 14)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from plan_store import store_with_plan
from sqlalchemy import Engine, text

from seatwise.core.account import Account
from seatwise.engine.billing_run import bill
from seatwise.engine.clock import FixedClock
from seatwise.store import repository
from seatwise.store.database import make_engine, write_transaction

CLOCK = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
ACCOUNTS = 120  # three of a run's transactions (50 accounts each): the table grows between


def _table_reads(engine: Engine, lines: int) -> tuple[int, int]:
    """How many sequential scans read the invoices table and how many rows they read, once
    the billing connections' counts have arrived (their inserted lines counted: ``lines``)."""
    with engine.connect() as connection:
        for _ in range(100):
            connection.execute(text("SELECT pg_stat_clear_snapshot()"))
            row = connection.execute(
                text(
                    "SELECT i.seq_scan, i.seq_tup_read, l.n_tup_ins FROM pg_stat_user_tables i, "
                    "pg_stat_user_tables l WHERE i.relname = 'invoices' "
                    "AND l.relname = 'invoice_lines'"
                )
            ).one()
            if row.n_tup_ins >= lines:
                return row.seq_scan, row.seq_tup_read
            time.sleep(0.05)
    raise AssertionError("the billing connections' table counts never arrived")


def test_the_checks_planned_while_the_invoices_were_few_still_use_the_key(
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite checks a foreign key by the referenced table's key")
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
    scans, rows_read = _table_reads(observer, lines)
    observer.dispose()
    # no row written scanned the table: with the checks planned as PostgreSQL chose, 3,083
    # scans read 1,388,840 rows, a scan for each line and status change written; planned by
    # the key, 203 scans read 5,000 rows (the run's reads, planned by the statistics)
    assert scans < report.invoices, (scans, rows_read)
