"""Benchmark: a year of daily billing runs against one run for the year.

    python bench/daily_runs.py [--accounts 1000] [--databases sqlite,postgresql] [--out FILE]

The accounts are the billing benchmark's (``bench/billing_run.py``). One store bills the year
in one run; another bills it in 365 daily runs, each up to the next midnight (only the
accounts with something due, as ``seatwise bill`` does), each account's walk going on from
the checkpoint its previous run left; a third store does the same daily runs with the
checkpoints ignored (every account a run takes walked from its first event: the baseline, in
the same run). The JSON reports the totals, the first, median and last daily run, the
accounts each daily run took, and the time per account taken in the first and the last 30
days. The three stores must end with the same invoices.

This is a measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).parent))

from arguments import databases, out_file, positive
from billing_run import fresh_postgresql, gather_statistics
from report import print_and_write
from year_of_accounts import START, YEAR_END, load_accounts

from seatwise.engine import billing_run
from seatwise.heap import settle_for_work
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate

# Numbers differ (daily runs number the accounts' invoices interleaved), contents must not.
INVOICES = (
    "SELECT account_id, kind, issued_at, period_start, total FROM invoices "
    "ORDER BY account_id, issued_at, kind, period_start"
)


def daily_runs(engine: Engine) -> tuple[list[float], list[int]]:
    """365 runs, each up to the next midnight: seconds and accounts taken, run by run."""
    seconds: list[float] = []
    touched: list[int] = []
    day = START
    while day < YEAR_END:
        day += timedelta(days=1)
        started = time.perf_counter()
        report = billing_run.bill(engine, day)
        seconds.append(time.perf_counter() - started)
        touched.append(report.accounts)
    return seconds, touched


def per_account_ms(seconds: list[float], touched: list[int]) -> float:
    """The median time of a run per account it took (runs that took any)."""
    return round(
        1000 * statistics.median(s / n for s, n in zip(seconds, touched, strict=True) if n), 2
    )


def run(urls: tuple[str, str, str], count: int, seed: int) -> dict[str, Any]:
    for target in urls:
        migrate(target)
        loaded = make_engine(target)
        load_accounts(loaded, count, seed)
        gather_statistics(loaded)  # on PostgreSQL, as billing_run.py
        loaded.dispose()
    once = make_engine(urls[1])
    settle_for_work()  # as `seatwise bill` does before it bills
    started = time.perf_counter()
    billing_run.bill(once, YEAR_END)
    once_seconds = time.perf_counter() - started

    daily = make_engine(urls[0])
    seconds, touched = daily_runs(daily)
    plain = make_engine(urls[2])
    real = repository.checkpoints_of
    repository.checkpoints_of = lambda connection, account_ids: {}  # none read: all from the start
    try:
        plain_seconds, plain_touched = daily_runs(plain)
    finally:
        repository.checkpoints_of = real
    with daily.connect() as a, once.connect() as b, plain.connect() as c:
        rows = [[tuple(r) for r in db.execute(text(INVOICES))] for db in (a, b, c)]
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
        "ms_per_account_first_30_days": per_account_ms(seconds[:30], touched[:30]),
        "ms_per_account_last_30_days": per_account_ms(seconds[-30:], touched[-30:]),
        "without_checkpoints": {
            "daily_total_seconds": round(sum(plain_seconds), 2),
            "ms_per_account_first_30_days": per_account_ms(plain_seconds[:30], plain_touched[:30]),
            "ms_per_account_last_30_days": per_account_ms(plain_seconds[-30:], plain_touched[-30:]),
        },
        "same_invoices_as_one_run": rows[0] == rows[1] == rows[2],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=positive, default=1000)
    parser.add_argument("--databases", type=databases, default="sqlite,postgresql")
    parser.add_argument(
        "--postgresql-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/seatwise_bench",
        help="a database that may be emptied; created if missing (and ones named …_once, …_plain)",
    )
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=out_file)
    args = parser.parse_args()
    results = []
    for name in args.databases:
        if name == "sqlite":
            folder = tempfile.mkdtemp(prefix="seatwise-bench-")
            urls = tuple(f"sqlite:///{folder}/{name}.db" for name in ("daily", "once", "plain"))
        else:
            urls = tuple(
                fresh_postgresql(args.postgresql_url + suffix) for suffix in ("", "_once", "_plain")
            )
        print(f"a year of daily runs for {args.accounts} accounts on {name} …", file=sys.stderr)
        results.append(run(urls, args.accounts, args.seed))  # type: ignore[arg-type]
    print_and_write("daily_runs", args.out, results=results)


if __name__ == "__main__":
    main()
