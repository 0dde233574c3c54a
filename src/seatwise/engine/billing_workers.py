"""``seatwise bill --workers N``: N processes bill at once against one PostgreSQL database.

Each worker is a :func:`~seatwise.engine.billing_run.bill` of its own (its own process,
engine and connections), so the workers share the accounts the way runs on several machines
do: each transaction claims accounts no other one holds (``FOR UPDATE SKIP LOCKED``) and
holds the number sequence only while it writes. The parent process bills nothing: it starts
the workers, passes on what each transaction did (for a progress bar) and adds up their
reports. What a worker logs (an account it could not bill, with its traceback) is logged by
the parent's ``seatwise`` logger, where the parent's handlers put it (the CLI: the error log,
never the terminal). Workers whose parent is killed stop after the transaction they are in
(committed: a run again bills the rest). SQLite has one writer at a time: more than one worker
is refused there.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import queue
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from seatwise.core.gateway import PaymentGateway
from seatwise.engine.billing_report import BillingRefused, BillingReport, check_not_ahead
from seatwise.engine.billing_run import bill, count_not_due
from seatwise.engine.clock import Clock
from seatwise.heap import settle_for_work
from seatwise.store.database import make_engine

MAX_WORKERS = 32
POLL_SECONDS = 0.2


class WorkerFailed(BillingRefused):
    """A worker stopped before its end (the database failed, or it was killed); what the
    others billed is billed, and a run again finishes the rest."""


def bill_with_workers(
    engine: Engine,
    until: datetime,
    workers: int,
    progress: Callable[[BillingReport], Any] | None = None,
    drafts: bool = False,
    gateway: PaymentGateway | None = None,
    clock: Clock | None = None,
    everything: bool = False,
) -> BillingReport:
    """:func:`~seatwise.engine.billing_run.bill` by ``workers`` processes at once (1: in this
    process). ``gateway`` and ``clock`` are sent to each worker, so they must pickle."""
    if not 1 <= workers <= MAX_WORKERS:
        raise BillingRefused(f"workers: {workers} is not between 1 and {MAX_WORKERS}")
    if workers == 1:
        return bill(engine, until, progress, drafts, gateway, clock, everything=everything)
    if everything or drafts:
        raise BillingRefused(
            "workers share the accounts due; --all and --drafts take every account: bill "
            "them with one worker"
        )
    if engine.dialect.name != "postgresql":
        raise BillingRefused(
            f"workers: {workers} workers need PostgreSQL; SQLite has one writer at a time "
            "(bill with one worker)"
        )
    check_not_ahead(until, clock)
    with engine.connect() as connection:  # what the workers leave alone, counted once
        not_due = count_not_due(connection, until)
    context = multiprocessing.get_context("spawn")  # no connections copied from this process
    told: Any = context.Queue()
    logged: Any = context.Queue()
    relay = logging.handlers.QueueListener(logged, _Relay())
    relay.start()
    url = engine.url.render_as_string(hide_password=False)
    processes = [
        context.Process(
            target=_work,
            args=(url, until, gateway, clock, told, logged),
            name=f"seatwise-bill-{index + 1}",
            daemon=True,
        )
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    report = BillingReport(0, 0, 0, not_due=not_due)
    failed: set[str] = set()
    ended: set[int] = set()
    gone: set[int] = set()
    errors: list[str] = []
    try:
        while len(ended) < workers:
            try:
                index, kind, value = told.get(timeout=POLL_SECONDS)
            except queue.Empty:  # a worker that ended said so before; one killed says nothing
                for index, process in enumerate(processes):
                    if index in ended or process.exitcode is None:
                        continue
                    if index in gone:  # gone for a whole poll, and still nothing from it
                        ended.add(index)
                        errors.append(f"worker {index + 1} stopped (exit code {process.exitcode})")
                    gone.add(index)  # what it sent before it ended is read first
                continue
            if kind == "done":
                value = _once(value, failed)
                report += value
                if progress is not None:
                    progress(value)
            else:
                ended.add(index)
                if kind == "error":
                    errors.append(f"worker {index + 1}: {value}")
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
        relay.stop()
    if errors:
        raise WorkerFailed(
            "; ".join(errors) + f" — the other workers billed {report.accounts} account(s); "
            "run again to bill the rest (nothing is billed twice)"
        )
    return report


def _work(
    url: str,
    until: datetime,
    gateway: PaymentGateway | None,
    clock: Clock | None,
    told: Any,
    logged: Any,
) -> None:
    """One worker: a billing run of its own, telling the parent what each transaction did."""
    index = int(multiprocessing.current_process().name.rsplit("-", 1)[1]) - 1
    parent = os.getppid()
    logger = logging.getLogger("seatwise")
    logger.handlers = [logging.handlers.QueueHandler(logged)]
    logger.propagate = False
    engine = make_engine(url)
    settle_for_work()  # a process that bills until its run ends

    def committed(done: BillingReport) -> None:
        if os.getppid() != parent:  # the parent was killed: stop, between two transactions
            raise _Orphaned
        told.put((index, "done", done))

    try:
        bill(engine, until, committed, gateway=gateway, clock=clock)
    except _Orphaned:
        return
    except (OperationalError, InterfaceError) as error:
        told.put((index, "error", f"the database failed: {str(error).splitlines()[0]}"))
    except Exception as error:  # reported to the parent, which tells the operator
        told.put((index, "error", f"{type(error).__name__}: {error}"))
    except KeyboardInterrupt:  # Ctrl-C reaches every worker: its transaction is rolled back
        told.put((index, "error", "interrupted"))
    else:
        told.put((index, "end", None))
    finally:
        engine.dispose()


def _once(done: BillingReport, failed: set[str]) -> BillingReport:
    """A transaction's report without the accounts another worker reported failed already:
    a failed account is still due, so a worker whose claims come after it tries it again
    (rolled back again); the run reports it once."""
    again = [failure for failure in done.failed if failure.account_id in failed]
    failed.update(failure.account_id for failure in done.failed)
    if not again:
        return done
    return replace(
        done,
        accounts=done.accounts - len(again),
        failed=tuple(failure for failure in done.failed if failure not in again),
    )


class _Orphaned(Exception):
    """The process that started this worker is gone: nobody reads what it reports."""


class _Relay(logging.Handler):
    """Hands a worker's log record to the parent's logger of the same name."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)
