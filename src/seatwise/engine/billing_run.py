"""Billing runs over the store: everything due up to an instant, for every account.

Each account is billed in one transaction that first locks the account, then recomputes its
invoices from the whole timeline (the pure core), reconciles them with what is already issued,
numbers and stores the new ones (or stores them as unnumbered drafts), and commits. So a run
killed at any point leaves each account either fully billed or untouched, a second run issues
only what is still missing, two workers take turns on an account, and the unique (account,
kind, period) key is the last guard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from seatwise.core.billing import generate_invoices
from seatwise.core.collection import status_at_issue
from seatwise.core.invoice_states import DRAFT
from seatwise.core.invoicing import settle
from seatwise.core.reconcile import IssuedInvoice, reconcile
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
    """Store a scenario's plan, account and timeline as account ``account_id``."""
    with write_transaction(engine) as connection:
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


def bill_account(
    connection: Connection, account_id: str, until: datetime, drafts: bool = False
) -> tuple[int, int]:
    """Issue what is due for one account up to ``until``; (invoices, lines) issued.

    With ``drafts``, what is due is stored as unnumbered drafts instead, and the account's
    balance is left alone; drafts are recomputed on every run until one finalizes them.
    """
    repository.lock_account(connection, account_id)
    repository.delete_drafts(connection, account_id)
    stored = repository.load_account(connection, account_id)
    plan, account = stored.plan, stored.account
    result = generate_invoices(plan, account, stored.events, until)
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
    if drafts:
        entries = [NewInvoice(None, DRAFT, invoice) for invoice in settled]
    else:
        numbers = repository.next_numbers(connection, INVOICE_PREFIX, len(settled))
        entries = [
            NewInvoice(number, status_at_issue(plan, stored.payment_method, invoice), invoice)
            for number, invoice in zip(numbers, settled, strict=True)
        ]
    repository.insert_invoices(connection, account_id, plan.currency.code, entries)
    if not drafts:
        repository.update_account_after_billing(
            connection, account_id, result.state.status, balance
        )
    return len(settled), sum(len(invoice.lines) for invoice in settled)


def bill(
    engine: Engine,
    until: datetime,
    progress: Callable[[str], Any] | None = None,
    drafts: bool = False,
) -> BillingReport:
    """Bill every account up to ``until``, one transaction per account."""
    with engine.connect() as connection:
        ids = repository.account_ids(connection)
    invoices = lines = 0
    for account_id in ids:
        with write_transaction(engine) as connection:
            issued, written = bill_account(connection, account_id, until, drafts)
        invoices += issued
        lines += written
        if progress is not None:
            progress(account_id)
    return BillingReport(len(ids), invoices, lines)


def finalize_drafts(engine: Engine, account_id: str) -> BillingReport:
    """Finalize an account's drafts: bill it, for real, up to its latest draft's issue date.
    The drafts are recomputed first, so what is issued is what the timeline says now."""
    with write_transaction(engine) as connection:
        drafts = repository.issued_invoices(connection, account_id, drafts=True)
        if not drafts:
            repository.load_account(connection, account_id)  # UnknownAccount if it is one
            return BillingReport(1, 0, 0)
        until = max(draft.invoice.issued_at for draft in drafts)
        issued, lines = bill_account(connection, account_id, until)
    return BillingReport(1, issued, lines)
