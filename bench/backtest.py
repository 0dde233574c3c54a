"""Benchmark: ``seatwise backtest`` of N generated accounts with 1 and with 2 processes.

    python bench/backtest.py [--accounts 10000] [--databases sqlite,postgresql] [--out FILE]

The accounts are the billing benchmark's (``bench/billing_run.py``: one of the five presets,
10–50 members, a year of member events), all in USD here so that every account can be
re-billed under the one new plan. They are stored and billed for the year first (not timed);
then the whole book is backtested under ``seats-monthly`` at $13.20, once with one process
and once with two (timed), and the JSON reports accounts/s and the speedup. Both runs must
find the same figures.

This is a measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))

from arguments import databases, out_file, positive
from billing_run import fresh_postgresql
from report import print_and_write
from year_of_accounts import PLANS, YEAR_END, account_year

from seatwise.analysis.backtest_tables import backtest_json
from seatwise.core.plans import parse_plan
from seatwise.engine import billing_run
from seatwise.engine.backtest import BacktestRequest, run_backtest
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate, write_transaction

NEW_PLAN = {"preset": "seats-monthly", "currency": "USD", "price": "13.20"}


def load_book(url: str, count: int, seed: int) -> int:
    """Store ``count`` accounts of the billing benchmark, every plan in USD; bill the year."""
    migrate(url)
    engine = make_engine(url)
    rng = random.Random(seed)
    recorded = datetime.now(UTC)
    events = 0
    with write_transaction(engine) as connection:
        for plan_id, definition in PLANS.items():
            repository.save_plan(connection, plan_id, {**definition, "currency": "USD"}, recorded)
        for index in range(count):
            preset, account, changes = account_year(rng)
            repository.save_account(
                connection, f"acct-{index:06d}", preset, account, "succeeds", changes, recorded
            )
            events += len(changes)
    billing_run.bill(engine, YEAR_END)
    with engine.begin() as connection:  # the statistics autovacuum would have gathered
        connection.execute(text("ANALYZE"))
    engine.dispose()
    return events


def timed_backtest(url: str, jobs: int, ids: list[str]) -> tuple[float, dict[str, Any]]:
    request = BacktestRequest("seats-monthly-13.20", NEW_PLAN, parse_plan(NEW_PLAN), None, YEAR_END)
    started = time.perf_counter()
    result = run_backtest(url, request, ids, jobs)
    seconds = time.perf_counter() - started
    doc = backtest_json(result)
    for volatile in ("accounts_per_second", "jobs"):
        doc.pop(volatile)
    return seconds, doc


def run(url: str, count: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    events = load_book(url, count, seed)
    setup_seconds = time.perf_counter() - started
    ids = [f"acct-{index:06d}" for index in range(count)]
    one_seconds, one = timed_backtest(url, 1, ids)
    two_seconds, two = timed_backtest(url, 2, ids)
    assert one == two, "one and two processes disagree"
    return {
        "database": make_engine(url).dialect.name,
        "accounts": count,
        "events": events,
        "setup_seconds": round(setup_seconds, 1),
        "errors": sum(1 for row in one["per_account"] if row["error"]),
        "difference": one["totals"]["difference"],
        "one_process_seconds": round(one_seconds, 2),
        "one_process_accounts_per_second": round(count / one_seconds, 1),
        "two_processes_seconds": round(two_seconds, 2),
        "two_processes_accounts_per_second": round(count / two_seconds, 1),
        "speedup": round(one_seconds / two_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=positive, default=10_000)
    parser.add_argument("--databases", type=databases, default="sqlite")
    parser.add_argument(
        "--postgresql-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/seatwise_bench",
        help="a database that may be emptied; created if missing",
    )
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=out_file, help="also write the JSON here")
    args = parser.parse_args()
    results = []
    for name in args.databases:
        if name == "sqlite":
            url = f"sqlite:///{tempfile.mkdtemp(prefix='seatwise-bench-')}/bench.db"
        else:
            url = fresh_postgresql(args.postgresql_url)
        print(f"backtesting {args.accounts} accounts on {name} …", file=sys.stderr)
        results.append(run(url, args.accounts, args.seed))
    print_and_write(
        "backtest",
        args.out,
        cores=os.cpu_count(),
        plan=NEW_PLAN,
        results=results,
    )


if __name__ == "__main__":
    main()
