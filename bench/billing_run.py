"""Benchmark: a year of billing for N accounts through ``seatwise bill``, on SQLite and PostgreSQL.

    python bench/billing_run.py [--accounts 10000] [--databases sqlite,postgresql]
                                [--workers 1,2,4] [--out FILE]

Each account gets one of the five presets, 10–50 members and a year of member events (hires,
leavers, returns, deletions). The accounts are stored first (not timed); then one billing run
processes the year (timed) and the JSON reports accounts/s, invoices/s and lines/s, the time
spent in the store's writes, and the peak resident memory. In the same run the very line rows
that billing persisted are written again by the fastest raw path of each database, a DB-API
``executemany`` (SQLite) and ``COPY`` (PostgreSQL), into a table defined like ``invoice_lines``
(same primary and foreign keys), in one transaction; the ratio says how close the engine's
persistence (the time spent in its invoice writes, heads and status history included) comes.

On PostgreSQL the store's statistics are gathered (``ANALYZE``) once the accounts are
stored, as autovacuum would in a store in use.

Workers (PostgreSQL): the same accounts are stored again in a fresh database for each worker
count, and ``bill_with_workers`` (``seatwise bill --workers N``) bills the year; the JSON
reports each count's seconds and its speedup over one worker (measured the same way, in the
same run; a worker is a process, so one worker includes a process's start too).

Beside each billing phase, before and after it, the plain loop of ``bench/core_scaling.py``
is timed over 20,000 member events (``plain_loop_seconds``): pure Python that no change to
the billing code touches, so it says how fast the processor was then, and
``accounts_per_plain_loop`` (accounts/s × those seconds, their mean) compares runs made on
a machine whose speed moves.

This is a measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from arguments import counts_or_none, databases, out_file, positive
from machine_speed import plain_loop_seconds
from report import print_and_write
from sqlalchemy import Column, Engine, ForeignKeyConstraint, MetaData, Table, text
from year_of_accounts import START, YEAR_END, load_accounts

from seatwise.engine import billing_run
from seatwise.engine.billing_workers import bill_with_workers
from seatwise.heap import settle_for_work
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import invoice_lines, invoices

LINE_COLUMNS = [column.name for column in invoice_lines.columns]
RAW_TABLE = "bench_raw_lines"


class WriteTimer:
    """Times the billing run's writes of invoices and lines (``repository.insert_invoices``)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def measuring(self) -> Iterator[None]:
        original = repository.insert_invoices

        def timed(*args: Any, **kwargs: Any) -> None:
            started = time.perf_counter()
            try:
                original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        repository.insert_invoices = timed
        try:
            yield
        finally:
            repository.insert_invoices = original


def raw_line_rate(engine: Engine) -> tuple[int, float, str]:
    """Write the persisted line rows again by the database's fastest raw path; rows/s."""
    raw_rows = engine.raw_connection()
    try:  # the rows as the database holds them, so the raw path converts nothing
        reading = raw_rows.cursor()
        reading.execute("SELECT * FROM invoice_lines")
        rows = [tuple(row) for row in reading.fetchall()]
    finally:
        raw_rows.close()
    dialect = engine.dialect.name
    # The same table definition as invoice_lines (primary key, foreign key to invoices),
    # so that the raw path does the same work the engine's writes do.
    shape = MetaData()
    Table("invoices", shape, Column("id", invoices.c.id.type, primary_key=True))
    raw_table = Table(
        RAW_TABLE,
        shape,
        *(Column(c.name, c.type, primary_key=c.primary_key) for c in invoice_lines.columns),
        ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
    )
    raw_table.drop(engine, checkfirst=True)
    raw_table.create(engine)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        if dialect == "sqlite":
            marks = ", ".join("?" for _ in LINE_COLUMNS)
            cursor.execute("BEGIN")  # the engine's connections leave transactions to the caller
            cursor.executemany(f"INSERT INTO {RAW_TABLE} VALUES ({marks})", rows)
            method = "executemany"
        else:
            columns = ", ".join(LINE_COLUMNS)
            with cursor.copy(f"COPY {RAW_TABLE} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            method = "COPY"
        raw.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
    raw_table.drop(engine)
    return len(rows), len(rows) / elapsed, method


def run(url: str, count: int, seed: int) -> dict[str, Any]:
    migrate(url)
    engine = make_engine(url)
    started = time.perf_counter()
    events = load_accounts(engine, count, seed)
    load_seconds = time.perf_counter() - started
    gather_statistics(engine)

    settle_for_work()  # as `seatwise bill` does before it bills
    timer = WriteTimer()
    loop_before = plain_loop_seconds()
    started = time.perf_counter()
    with timer.measuring():
        report = billing_run.bill(engine, YEAR_END)
    seconds = time.perf_counter() - started
    loop_after = plain_loop_seconds()
    store_seconds = timer.seconds

    rows, raw_rate, method = raw_line_rate(engine)
    assert rows == report.lines, (rows, report.lines)
    persisted_rate = report.lines / store_seconds
    engine.dispose()
    return {
        "database": engine.dialect.name,
        "accounts": report.accounts,
        "events": events,
        "invoices": report.invoices,
        "lines": report.lines,
        "load_seconds": round(load_seconds, 2),
        "bill_seconds": round(seconds, 2),
        "accounts_per_second": round(report.accounts / seconds, 1),
        "plain_loop_seconds": [round(loop_before, 5), round(loop_after, 5)],
        "accounts_per_plain_loop": round(
            report.accounts / seconds * (loop_before + loop_after) / 2, 3
        ),
        "invoices_per_second": round(report.invoices / seconds, 1),
        "lines_per_second": round(report.lines / seconds, 1),
        "store_write_seconds": round(store_seconds, 2),
        "lines_persisted_per_second": round(persisted_rate, 1),
        "raw_method": method,
        "raw_lines_per_second": round(raw_rate, 1),
        "persisted_to_raw_ratio": round(persisted_rate / raw_rate, 3),
        "end_to_end_to_raw_ratio": round(report.lines / seconds / raw_rate, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_workers(url: str, count: int, seed: int, workers: list[int]) -> list[dict[str, Any]]:
    """The year of ``count`` accounts billed by each number of workers, each in a fresh
    database; seconds, accounts/s and the speedup over the first count (one worker)."""
    measured: list[dict[str, Any]] = []
    for number in workers:
        fresh_postgresql(url)
        migrate(url)
        engine = make_engine(url)
        load_accounts(engine, count, seed)
        gather_statistics(engine)
        print(f"  {number} worker(s) …", file=sys.stderr)
        loop_before = plain_loop_seconds()
        started = time.perf_counter()
        report = bill_with_workers(engine, YEAR_END, number)
        seconds = time.perf_counter() - started
        loop_after = plain_loop_seconds()
        engine.dispose()
        assert not report.failed, report.failed
        measured.append(
            {
                "workers": number,
                "accounts": report.accounts,
                "invoices": report.invoices,
                "bill_seconds": round(seconds, 2),
                "accounts_per_second": round(report.accounts / seconds, 1),
                "plain_loop_seconds": [round(loop_before, 5), round(loop_after, 5)],
                "speedup": round(measured[0]["bill_seconds"] / seconds, 2) if measured else 1.0,
            }
        )
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=positive, default=10_000)
    parser.add_argument("--databases", type=databases, default="sqlite,postgresql")
    parser.add_argument(
        "--postgresql-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/seatwise_bench",
        help="a database that may be emptied; created if missing",
    )
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--workers",
        type=counts_or_none,
        default="1,2,4",
        help="worker counts to measure on PostgreSQL ('' for none)",
    )
    parser.add_argument("--out", type=out_file, help="also write the JSON here")
    args = parser.parse_args()

    results = []
    for name in args.databases:
        print(f"billing {args.accounts} accounts on {name} …", file=sys.stderr)
        if name == "sqlite":  # its file (400 MB for 10,000 accounts) removed after the run
            with tempfile.TemporaryDirectory(prefix="seatwise-bench-") as folder:
                results.append(run(f"sqlite:///{folder}/bench.db", args.accounts, args.seed))
        else:
            results.append(run(fresh_postgresql(args.postgresql_url), args.accounts, args.seed))
    workers: list[int] = args.workers
    measured_workers: list[dict[str, Any]] = []
    if workers and "postgresql" in args.databases:
        print(f"billing {args.accounts} accounts by workers on postgresql …", file=sys.stderr)
        measured_workers = run_workers(args.postgresql_url, args.accounts, args.seed, workers)
    print_and_write(
        "billing_run",
        args.out,
        accounts=args.accounts,
        period=[START.isoformat(), YEAR_END.isoformat()],
        results=results,
        workers=measured_workers,
        cores=os.cpu_count(),
    )


def gather_statistics(engine: Engine) -> None:
    """On PostgreSQL, the statistics autovacuum would gather once the accounts are stored
    (this machine's server runs without it), as a store in use has them: the accounts and
    their events counted, the invoices' tables empty. A run against such a store found the
    foreign key checks that ``keys_checked_by_index`` now plans by index (ten times slower)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def fresh_postgresql(url: str) -> str:
    """Drop and create the benchmark's database, so each run starts empty."""
    base, _, name = url.rpartition("/")
    admin = make_engine(f"{base}/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


if __name__ == "__main__":
    main()
