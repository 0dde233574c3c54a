"""Billing runs over the store: everything due up to an instant, for every account.

Accounts are billed in transactions of up to 50, in id order. A transaction first claims its
accounts (locks them, in id order), then for each account recomputes its invoices from the
whole timeline (the pure core), reconciles them with what is already issued, and collects; at
the end it numbers every new invoice of its accounts with one update of the sequence
(provisional numbers until then: :mod:`seatwise.engine.batch`), stores them in one bulk write
(or stores them as unnumbered drafts) and commits. So a run killed at any point leaves each
account either fully billed or untouched, a second run issues only what is still missing, and
the unique (account, kind, period) key is the last guard.

**Only what is due**: a run takes the accounts whose stored ``next_due_at`` is by its
``until`` or unknown (cleared by anything recorded for them since); see
:func:`~seatwise.engine.run_end.next_due`.

**One lock order everywhere**: accounts (in id order) before the number sequences. Every use
case that numbers something (a purchase, a payment method charging at once, finalizing, a
payment or credit note by hand) locks its account first, so none can deadlock with a run.

**One bad account never stops the others.** If anything fails while billing an account of
a transaction, the transaction is rolled back; the account is billed again alone, in a
transaction of its own, and if it fails again it is marked with the reason
(``billing_error``, shown by ``seatwise accounts``) and reported; the others are billed
together again (charges made before the rollback are sent again with the same idempotency
keys). Nothing of the rolled-back transaction stays, so the others' numbers have no gap.
Should the batch's write itself fail, its accounts are billed again one per transaction. The
next run bills a failed account again (and clears the mark once it succeeds). A database that
cannot be reached stops the run: that is no account's fault.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from seatwise.core.errors import SeatwiseError
from seatwise.core.gateway import PaymentGateway
from seatwise.engine.account_billing import bill_account, prepare_account
from seatwise.engine.batch import Batch, Preloaded
from seatwise.engine.billing_report import (
    AccountFailure,
    BillingReport,
    check_not_ahead,
    one_line,
)
from seatwise.engine.clock import Clock
from seatwise.store import outbox_repository as outbox_store
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.database import write_transaction
from seatwise.store.outbox_repository import Endpoint

LOG = logging.getLogger("seatwise.billing")


ACCOUNTS_PER_TRANSACTION = 50


def bill(
    engine: Engine,
    until: datetime,
    progress: Callable[[BillingReport], Any] | None = None,
    drafts: bool = False,
    gateway: PaymentGateway | None = None,
    clock: Clock | None = None,
    only: Sequence[str] | None = None,
    everything: bool = False,
) -> BillingReport:
    """Bill and collect every account up to ``until`` (not after now: :class:`BillingRefused`).
    Accounts are claimed in id order, up to :data:`ACCOUNTS_PER_TRANSACTION` per transaction,
    whose invoices, payment attempts, reminders and messages are written together at its end:
    a transaction commits all of its accounts' work or none. An account that cannot be billed
    is reported in ``failed`` and marked; the others are billed all the same. ``only``: these
    accounts only. ``progress`` is told what each transaction did, as it commits.

    **Only what is due**: each account keeps the next instant anything is due for it, cleared
    by anything recorded for it since; a run takes only the accounts due by ``until`` or
    cleared (``everything``: all of them, as drafts runs always do).

    **Workers share**: on PostgreSQL a transaction claims accounts no other transaction holds
    (``FOR UPDATE SKIP LOCKED``) and numbers its invoices just before it commits, so runs at
    once (``--workers N``, or processes on several machines) each bill different accounts;
    an account billed by another since the run began is no longer due and is not taken."""
    check_not_ahead(until, clock)
    every = everything or drafts or only is not None
    with engine.connect() as connection:
        not_due = 0 if every else count_not_due(connection, until)
        endpoints = outbox_store.endpoints(connection)
    report = BillingReport(0, 0, 0, not_due=not_due)
    failed: set[str] = set()

    def one_pass(claim: _Claim) -> None:
        nonlocal report
        while True:
            try:
                done = _bill_claimed(engine, claim, until, drafts, gateway, endpoints)
            except (OperationalError, InterfaceError):
                raise  # the database failed: no account's fault, the run stops (re-run it)
            except _ChunkFailed as chunk_failed:  # rolled back: the others are billed still
                done = _bill_again(engine, claim, chunk_failed, until, drafts, gateway, endpoints)
            failed.update(failure.account_id for failure in done.failed)
            report += done
            if progress is not None and done.accounts:
                progress(done)
            if claim.finished:
                return

    if every:  # every account (or those named): each taken in turn, waiting for any lock
        one_pass(_Claim(None, only, skip_locked=False))
    else:
        one_pass(_Claim(until, None))  # what no other transaction holds
        # then what was held (by another worker, a request recording an event…) and is still
        # due once released; never an account that failed in this run
        one_pass(_Claim(until, None, skip_locked=False, exclude=failed))
    return report


def count_not_due(connection: Connection, until: datetime) -> int:
    """How many accounts a run up to ``until`` leaves alone: nothing is due for them."""
    return repository.count_accounts(connection) - repository.count_accounts(connection, until)


@dataclass
class _Claim:
    """Where a run is in the accounts it takes: each transaction claims the next ones."""

    due_by: datetime | None  # None: every account
    only: Sequence[str] | None
    skip_locked: bool = True
    exclude: set[str] = field(default_factory=set)
    after: str = ""
    finished: bool = False

    def take(self, connection: Connection) -> list[str]:
        claimed = repository.claim_accounts(
            connection, self.after, ACCOUNTS_PER_TRANSACTION, self.due_by, self.only,
            self.skip_locked, self.exclude,
        )  # fmt: skip
        if claimed.reached is None:
            self.finished = True
        else:
            self.after = claimed.reached
        return claimed.ids


class _ChunkFailed(Exception):
    """Billing a transaction's accounts failed and it was rolled back: ``culprit`` is the
    account whose billing failed, None when the batch's write did (no account to blame)."""

    def __init__(self, chunk: list[str], culprit: str | None) -> None:
        super().__init__(f"{len(chunk)} account(s)")
        self.chunk = chunk
        self.culprit = culprit


def _bill_claimed(
    engine: Engine,
    claim: _Claim,
    until: datetime,
    drafts: bool,
    gateway: PaymentGateway | None,
    endpoints: list[Endpoint],
) -> BillingReport:
    """One transaction of a run: claim the next accounts, read them together, bill each,
    write, commit. An account that cannot be billed rolls the transaction back
    (:class:`_ChunkFailed`, :func:`_bill_again`): failing is rare, and a savepoint per
    account, taken so that one could be undone alone, cost every account two statements."""
    batch = Batch()
    with write_transaction(engine) as connection:
        chunk = claim.take(connection)
        if not chunk:
            return BillingReport(0, 0, 0)
        try:
            preloaded = _read_together(connection, chunk)
            for account_id in chunk:
                try:
                    prepare_account(connection, account_id, until, drafts, batch, gateway,
                                    endpoints, preloaded)  # fmt: skip
                except (OperationalError, InterfaceError):
                    raise
                except Exception as error:
                    raise _ChunkFailed(chunk, account_id) from error
            batch.write(connection, until)
        except (OperationalError, InterfaceError, _ChunkFailed):
            raise
        except Exception as error:  # the batch's write: no account to blame
            raise _ChunkFailed(chunk, None) from error
    return _report(chunk, batch)


def _bill_again(
    engine: Engine,
    claim: _Claim,
    failure: _ChunkFailed,
    until: datetime,
    drafts: bool,
    gateway: PaymentGateway | None,
    endpoints: list[Endpoint],
) -> BillingReport:
    """After a transaction was rolled back: the account that failed alone (marked and
    reported if it fails again), the others together in a transaction of their own (again,
    until none fails); each alone when the batch's write failed. Charges made before the
    rollback are made again with the same idempotency keys (:mod:`engine.collection`)."""
    done = BillingReport(0, 0, 0)
    while failure.culprit is not None:
        culprit = failure.culprit
        done += _bill_alone(engine, culprit, claim, until, drafts, gateway, endpoints)
        rest = [account_id for account_id in failure.chunk if account_id != culprit]
        if not rest:
            return done
        try:
            again = _Claim(claim.due_by, rest, claim.skip_locked)  # those of them still due
            return done + _bill_claimed(engine, again, until, drafts, gateway, endpoints)
        except _ChunkFailed as another:
            failure = another
    for account_id in failure.chunk:
        done += _bill_alone(engine, account_id, claim, until, drafts, gateway, endpoints)
    return done


def _read_together(connection: Connection, chunk: list[str]) -> Preloaded | None:
    """Drop the claimed accounts' drafts and read them all; None (nothing done) when one of
    them cannot be read: each is then read alone, and the bad one fails alone."""
    savepoint = connection.begin_nested()
    try:
        repository.delete_drafts_of(connection, chunk)
        preloaded = Preloaded.read(connection, chunk)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        savepoint.rollback()
        return None
    savepoint.commit()
    return preloaded


def _failed(
    connection: Connection, account_id: str, until: datetime, error: Exception
) -> AccountFailure:
    """Log and mark an account that could not be billed (what it did was rolled back)."""
    reason = one_line(error)
    LOG.error("account %s could not be billed up to %s: %s", account_id, until, reason,
              exc_info=None if isinstance(error, SeatwiseError) else error)  # fmt: skip
    repository.mark_billing_error(connection, account_id, reason, until)
    return AccountFailure(account_id, reason)


def _report(chunk: Sequence[str], batch: Batch) -> BillingReport:
    return BillingReport(
        len(chunk),
        len(batch.invoices),
        sum(len(entry.invoice.lines) for entry in batch.invoices),
        len(batch.attempts),
        sum(1 for row in batch.attempts if row[payments.SUCCEEDED]),
        len(batch.reminders),
        len(batch.messages),
    )


def _bill_alone(
    engine: Engine,
    account_id: str,
    claim: _Claim,
    until: datetime,
    drafts: bool,
    gateway: PaymentGateway | None,
    endpoints: list[Endpoint],
) -> BillingReport:
    """Bill one account of a transaction that was rolled back, in a transaction of its own
    (unless another run has taken it meanwhile, or billed it: nothing to do)."""
    batch = Batch()
    try:
        with write_transaction(engine) as connection:
            taken = repository.claim_accounts(
                connection, "", 1, claim.due_by, [account_id], claim.skip_locked
            )
            if not taken.ids:  # another run took it meanwhile, or billed it
                return BillingReport(0, 0, 0)
            prepare_account(connection, account_id, until, drafts, batch, gateway, endpoints)
            batch.write(connection, until)
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:
        with write_transaction(engine) as connection:
            failure = _failed(connection, account_id, until, error)
        return BillingReport(1, 0, 0, failed=(failure,))
    return _report([account_id], batch)


def finalize_drafts(engine: Engine, account_id: str) -> BillingReport:
    """Finalize an account's drafts: bill it, for real, up to its latest draft's issue date.
    The drafts are recomputed first, so what is issued is what the timeline says now."""
    with write_transaction(engine) as connection:
        until = repository.latest_draft_issue(connection, account_id)
        if until is None:
            repository.load_account(connection, account_id)  # UnknownAccount if it is one
            return BillingReport(1, 0, 0)
        issued, lines = bill_account(connection, account_id, until)
    return BillingReport(1, issued, lines)
