"""``seatwise backtest``: every stored account re-billed under a new plan, read-only.

Each account is read in its own short read transaction (its plan, timeline and issued
invoices) and re-billed by the pure core (:mod:`seatwise.analysis.backtest`); nothing is
written, sent or locked, so a backtest can run beside a billing run. Accounts are shared out
among ``jobs`` processes in chunks, each with its own connection to the database; an account
that cannot be loaded or re-billed is an outcome with its reason, never the end of the run.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from seatwise.analysis.backtest import (
    SEAT_LINES,
    AccountOutcome,
    Backtest,
    Figures,
    figures,
    rebill,
)
from seatwise.core.errors import SeatwiseError
from seatwise.core.plans import Plan
from seatwise.store import repository
from seatwise.store.database import open_store, read_connection
from seatwise.store.repository import UnknownAccount

log = logging.getLogger("seatwise.backtest")
CHUNK = 50  # accounts per task at most: enough to amortise a task, few enough to share


@dataclass(frozen=True)
class BacktestRequest:
    label: str
    definition: dict[str, Any]
    plan: Plan
    start: datetime | None
    until: datetime


def chosen_accounts(engine: Engine, named: Sequence[str]) -> list[str]:
    """The accounts to backtest: those named (each must exist), else every account."""
    with read_connection(engine) as connection:
        every = repository.account_ids(connection)
    if not named:
        return every
    known = set(every)
    missing = [account_id for account_id in named if account_id not in known]
    if missing:
        raise UnknownAccount(f"--accounts: no account {', '.join(map(repr, missing))}")
    return list(dict.fromkeys(named))


def backtest_account(engine: Engine, account_id: str, request: BacktestRequest) -> AccountOutcome:
    try:
        with read_connection(engine) as connection:
            stored = repository.load_account(connection, account_id)
            invoiced = repository.invoice_sums(connection, account_id, SEAT_LINES)
    except (SeatwiseError, SQLAlchemyError, ValueError) as error:
        log.exception("backtest could not load account %s", account_id)
        return AccountOutcome(account_id, "", Figures(), Figures(), f"cannot be loaded: {error}")
    try:
        return rebill(stored, invoiced, request.plan, request.start, request.until)
    except Exception as error:  # one broken account never stops the others
        log.exception("backtest could not re-bill account %s", account_id)
        old = figures(invoiced, request.start, request.until)
        return AccountOutcome(account_id, stored.plan_id, old, Figures(), f"unexpected: {error}")


# -- processes -----------------------------------------------------------------------------------

_worker: tuple[Engine, BacktestRequest] | None = None


def _start_worker(database_url: str, request: BacktestRequest) -> None:
    global _worker
    _worker = (open_store(database_url), request)


def _work(account_ids: list[str]) -> list[AccountOutcome]:
    assert _worker is not None
    engine, request = _worker
    return [backtest_account(engine, account_id, request) for account_id in account_ids]


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for index in range(0, len(items), size):
        yield list(items[index : index + size])


def run_backtest(
    database_url: str,
    request: BacktestRequest,
    account_ids: Sequence[str],
    jobs: int,
    progress: Callable[[int], None] = lambda done: None,
    engine: Engine | None = None,
) -> Backtest:
    """Backtest ``account_ids`` with ``jobs`` processes (1: in this process, on ``engine`` if
    given); ``progress`` is told how many accounts each finished chunk held."""
    began = time.perf_counter()
    outcomes: dict[str, AccountOutcome] = {}
    jobs = max(1, min(jobs, len(account_ids)))
    size = max(1, min(CHUNK, -(-len(account_ids) // (jobs * 4))))  # ≥ 4 chunks per process
    if jobs == 1:
        own = engine is None
        store = open_store(database_url) if engine is None else engine
        try:
            for chunk in _chunks(account_ids, size):
                for account_id in chunk:
                    outcomes[account_id] = backtest_account(store, account_id, request)
                progress(len(chunk))
        finally:
            if own:
                store.dispose()
    else:
        with ProcessPoolExecutor(
            max_workers=jobs, initializer=_start_worker, initargs=(database_url, request)
        ) as pool:
            for chunk_outcomes in pool.map(_work, _chunks(account_ids, size)):
                for outcome in chunk_outcomes:
                    outcomes[outcome.account_id] = outcome
                progress(len(chunk_outcomes))
    return Backtest(
        request.label,
        request.definition,
        request.plan.currency,
        request.start,
        request.until,
        tuple(outcomes[account_id] for account_id in account_ids),
        time.perf_counter() - began,
        jobs,
    )


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
