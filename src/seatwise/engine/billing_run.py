"""Billing runs over the store: everything due up to an instant, for every account.

Accounts are billed in transactions of up to 50, in id order. For each account the transaction
locks it, recomputes its invoices from the whole timeline (the pure core), reconciles them with
what is already issued, and numbers them; at the end it stores every new invoice of its
accounts in one bulk write (or stores them as unnumbered drafts) and commits. So a run killed at
any point leaves each account either fully billed or untouched, a second run issues only what
is still missing, two workers take turns on an account (locks taken in the same order cannot
deadlock), and the unique (account, kind, period) key is the last guard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from seatwise.core.billing import generate_invoices
from seatwise.core.collection import status_at_issue
from seatwise.core.credits import CreditsPaid
from seatwise.core.errors import SeatwiseError
from seatwise.core.invoice_states import DRAFT, PAID
from seatwise.core.invoicing import settle
from seatwise.core.reconcile import IssuedInvoice, reconcile
from seatwise.engine.credits import sync_ledger
from seatwise.scenario import Scenario
from seatwise.store import repository
from seatwise.store.database import write_transaction
from seatwise.store.repository import INVOICE_PREFIX, NewInvoice


@dataclass(frozen=True)
class BillingReport:
    accounts: int
    invoices: int
    lines: int


def import_scenario(engine: Engine, scenario: Scenario, account_id: str, now: datetime) -> None:
    """Store a scenario's plan, account and timeline as account ``account_id``; an account
    that exists already is refused (:class:`~seatwise.core.errors.SeatwiseError`)."""
    with write_transaction(engine) as connection:
        if account_id in repository.account_ids(connection):
            raise SeatwiseError(f"account {account_id!r} exists already; choose another id")
        repository.save_plan(connection, account_id, dict(scenario.plan_data), now)
        repository.save_account(
            connection,
            account_id,
            account_id,
            scenario.account,
            scenario.payment_method,
            scenario.events,
            now,
        )
        sync_ledger(connection, account_id, now)  # credit events write the ledger up to now


ACCOUNTS_PER_TRANSACTION = 50


def bill_account(
    connection: Connection, account_id: str, until: datetime, drafts: bool = False
) -> tuple[int, int]:
    """Issue what is due for one account up to ``until``; (invoices, lines) issued.

    With ``drafts``, what is due is stored as unnumbered drafts instead, and the account's
    balance is left alone; drafts are recomputed on every run until one finalizes them.
    """
    entries = prepare_account(connection, account_id, until, drafts)
    repository.insert_invoices(connection, entries)
    return len(entries), sum(len(entry.invoice.lines) for entry in entries)


def prepare_account(
    connection: Connection, account_id: str, until: datetime, drafts: bool
) -> list[NewInvoice]:
    """Everything of :func:`bill_account` but writing the invoices: lock the account, drop its
    drafts, recompute, reconcile, settle, number, update the account; the invoices to store."""
    repository.lock_account(connection, account_id)
    repository.delete_drafts(connection, account_id)
    stored = repository.load_account(connection, account_id)
    plan, account = stored.plan, stored.account
    result = generate_invoices(plan, account, stored.events, until, stored.payment_method)
    history = repository.issued_invoices(connection, account_id)
    due = reconcile(
        result.proposed,
        [IssuedInvoice(entry.number or "", entry.invoice) for entry in history],
        until,
        plan.currency,
        plan.net_days,
        account.timezone,
    )
    settled, balance = settle(due.to_issue, stored.credit_balance, plan.currency)
    code = plan.currency.code
    if plan.credits is not None:  # credit movements up to `until` join the ledger
        sync_ledger(connection, account_id, until, result.state.wallet.entries)
    if drafts:
        return [NewInvoice(account_id, code, None, DRAFT, invoice) for invoice in settled]
    numbers = repository.next_numbers(connection, INVOICE_PREFIX, len(settled))
    repository.update_account_after_billing(connection, account_id, result.state.status, balance)
    entries = [
        NewInvoice(
            account_id, code, number, status_at_issue(plan, stored.payment_method, invoice), invoice
        )
        for number, invoice in zip(numbers, settled, strict=True)
    ]
    _credits_paid_at_issue(connection, account_id, entries, result.state.awaiting_credits, until)
    return entries


def _credits_paid_at_issue(
    connection: Connection,
    account_id: str,
    entries: list[NewInvoice],
    awaiting: tuple[datetime, ...],
    until: datetime,
) -> None:
    """A ``credits`` invoice that is paid when issued although the walk waits for its payment
    (the account's credit balance paid all of it) adds its credits then, like any payment."""
    paid = [
        CreditsPaid(entry.invoice.issued_at, entry.invoice.period.start)
        for entry in entries
        if entry.invoice.kind == "credits"
        and entry.status == PAID
        and entry.invoice.period.start in awaiting
    ]
    if paid:
        seq = repository.next_event_seq(connection, account_id)
        repository.append_events(connection, account_id, paid, until, first_seq=seq)
        sync_ledger(connection, account_id, until)


def bill(
    engine: Engine,
    until: datetime,
    progress: Callable[[str], Any] | None = None,
    drafts: bool = False,
) -> BillingReport:
    """Bill every account up to ``until``. Accounts are taken in id order, up to
    :data:`ACCOUNTS_PER_TRANSACTION` per transaction, whose invoices are written together at
    its end: a transaction commits all of its accounts' invoices or none."""
    with engine.connect() as connection:
        ids = repository.account_ids(connection)
    invoices = lines = 0
    for first in range(0, len(ids), ACCOUNTS_PER_TRANSACTION):
        chunk = ids[first : first + ACCOUNTS_PER_TRANSACTION]
        entries: list[NewInvoice] = []
        with write_transaction(engine) as connection:
            for account_id in chunk:
                entries.extend(prepare_account(connection, account_id, until, drafts))
            repository.insert_invoices(connection, entries)
        invoices += len(entries)
        lines += sum(len(entry.invoice.lines) for entry in entries)
        if progress is not None:
            for account_id in chunk:
                progress(account_id)
    return BillingReport(len(ids), invoices, lines)


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
