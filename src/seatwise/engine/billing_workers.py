"""``seatwise bill --workers N``: N processes bill at once against one PostgreSQL database.

Each worker is a :func:`~seatwise.engine.billing_run.bill` of its own (its own process,
engine and connections), so the workers share the accounts the way runs on several machines
do: each transaction claims accounts no other one holds (``FOR UPDATE SKIP LOCKED``) and
holds the number sequence only while it writes. The parent process bills nothing: it starts
the workers, passes on what each transaction did (for a progress bar) and adds up their
reports. SQLite has one writer at a time: more than one worker is refused there.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from seatwise.core.gateway import PaymentGateway
from seatwise.engine.billing_run import BillingRefused, BillingReport, bill, check_not_ahead
from seatwise.engine.clock import Clock
from seatwise.store import repository
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
    if engine.dialect.name != "postgresql":
        raise BillingRefused(
            f"workers: {workers} workers need PostgreSQL; SQLite has one writer at a time "
            "(bill with one worker)"
        )
    check_not_ahead(until, clock)
    with engine.connect() as connection:  # what the workers leave alone, counted once
        every = everything or drafts
        due = len(repository.due_account_ids(connection, until))
        not_due = 0 if every else repository.count_accounts(connection) - due
    context = multiprocessing.get_context("spawn")  # no connections copied from this process
    told: Any = context.Queue()
    url = engine.url.render_as_string(hide_password=False)
    processes = [
        context.Process(
            target=_work,
            args=(url, until, drafts, gateway, clock, everything, told),
            name=f"seatwise-bill-{index + 1}",
            daemon=True,
        )
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    report = BillingReport(0, 0, 0, not_due=not_due)
    ended: set[int] = set()
    errors: list[str] = []
    try:
        while len(ended) < workers:
            try:
                index, kind, value = told.get(timeout=POLL_SECONDS)
            except queue.Empty:
                for index, process in enumerate(processes):  # a worker killed says nothing
                    if index not in ended and not process.is_alive() and process.exitcode:
                        ended.add(index)
                        errors.append(f"worker {index + 1} stopped (exit code {process.exitcode})")
                continue
            if kind == "done":
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
    if errors:
        raise WorkerFailed(
            "; ".join(errors) + f" — the other workers billed {report.accounts} account(s); "
            "run again to bill the rest (nothing is billed twice)"
        )
    return report


def _work(
    url: str,
    until: datetime,
    drafts: bool,
    gateway: PaymentGateway | None,
    clock: Clock | None,
    everything: bool,
    told: Any,
) -> None:
    """One worker: a billing run of its own, telling the parent what each transaction did."""
    index = int(multiprocessing.current_process().name.rsplit("-", 1)[1]) - 1
    engine = make_engine(url)
    try:
        bill(
            engine, until, lambda done: told.put((index, "done", done)),
            drafts, gateway, clock, everything=everything,
        )  # fmt: skip
    except (OperationalError, InterfaceError) as error:
        told.put((index, "error", f"the database failed: {str(error).splitlines()[0]}"))
    except Exception as error:  # reported to the parent, which tells the operator
        told.put((index, "error", f"{type(error).__name__}: {error}"))
    else:
        told.put((index, "end", None))
    finally:
        engine.dispose()
