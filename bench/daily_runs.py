"""Benchmark: a year of daily billing runs against one run for the year.

    python bench/daily_runs.py [--accounts 1000] [--databases sqlite,postgresql] [--out FILE]

The accounts are the billing benchmark's (``bench/billing_run.py``). One store bills the year
in one run; another bills it in 365 daily runs, each up to the next midnight (only the
accounts with something due, as ``seatwise bill`` does). The JSON reports both totals, the
first, median and last daily run, and the accounts each daily run took. Both stores must end
with the same invoices.

This is a measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))

from billing_run import START, YEAR_END, fresh_postgresql, load_accounts

from seatwise.engine import billing_run
from seatwise.store.database import make_engine, migrate

# Numbers differ (daily runs number the accounts' invoices interleaved), contents must not.
INVOICES = (
    "SELECT account_id, kind, issued_at, period_start, total FROM invoices "
    "ORDER BY account_id, issued_at, kind, period_start"
)


def run(url: str, other_url: str, count: int, seed: int) -> dict[str, Any]:
    for target in (url, other_url):
        migrate(target)
        load_accounts(make_engine(target), count, seed)
    once = make_engine(other_url)
    started = time.perf_counter()
    billing_run.bill(once, YEAR_END)
    once_seconds = time.perf_counter() - started

    daily = make_engine(url)
    seconds: list[float] = []
    touched: list[int] = []
    day = START
    while day < YEAR_END:
        day += timedelta(days=1)
        started = time.perf_counter()
        report = billing_run.bill(daily, day)
        seconds.append(time.perf_counter() - started)
        touched.append(report.accounts)
    with daily.connect() as a, once.connect() as b:
        same = [tuple(r) for r in a.execute(text(INVOICES))] == [
            tuple(r) for r in b.execute(text(INVOICES))
        ]
    return {
        "database": daily.dialect.name,
        "accounts": count,
        "one_run_seconds": round(once_seconds, 2),
        "daily_runs": len(seconds),
        "daily_total_seconds": round(sum(seconds), 2),
        "daily_total_vs_one_run": round(sum(seconds) / once_seconds, 1),
        "first_run_seconds": round(seconds[0], 3),
        "median_run_seconds": round(statistics.median(seconds), 3),
        "last_run_seconds": round(seconds[-1], 3),
        "last_vs_first": round(seconds[-1] / seconds[0], 2),
        "accounts_per_run_median": statistics.median(touched),
        "accounts_first_run": touched[0],
        "accounts_last_run": touched[-1],
        "same_invoices_as_one_run": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--postgresql-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/seatwise_bench",
        help="a database that may be emptied; created if missing (and one named …_once)",
    )
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = []
    for name in args.databases.split(","):
        if name == "sqlite":
            folder = tempfile.mkdtemp(prefix="seatwise-bench-")
            urls = (f"sqlite:///{folder}/daily.db", f"sqlite:///{folder}/once.db")
        else:
            urls = (
                fresh_postgresql(args.postgresql_url),
                fresh_postgresql(args.postgresql_url + "_once"),
            )
        print(f"a year of daily runs for {args.accounts} accounts on {name} …", file=sys.stderr)
        results.append(run(*urls, args.accounts, args.seed))
    output = {
        "benchmark": "daily_runs",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": results,
    }
    rendered = json.dumps(output, indent=2)
    print(rendered)
    if args.out:
        args.out.write_text(rendered + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
