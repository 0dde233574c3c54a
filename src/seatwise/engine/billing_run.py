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
from seatwise.core.errors import SeatwiseError
from seatwise.core.gateway import PaymentGateway
from seatwise.core.invoice_states import DRAFT
from seatwise.core.invoicing import settle
from seatwise.core.reconcile import IssuedInvoice, reconcile
from seatwise.engine.collection import AccountRun, Batch
from seatwise.scenario import Scenario
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.database import write_transaction
from seatwise.store.payments_repository import Endpoint
from seatwise.store.repository import NewInvoice


@dataclass(frozen=True)
class BillingReport:
    accounts: int
    invoices: int
    lines: int
    charges: int = 0  # payment attempts made
    paid: int = 0  # of which succeeded
    reminders: int = 0
    messages: int = 0  # emails and webhooks queued in the outbox


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
        for change in scenario.methods[1:]:  # the first is the account's, at subscription
            payments.add_method(connection, account_id, change.at, change.method, now)


ACCOUNTS_PER_TRANSACTION = 50


def bill_account(
    connection: Connection,
    account_id: str,
    until: datetime,
    drafts: bool = False,
    gateway: PaymentGateway | None = None,
) -> tuple[int, int]:
    """Issue and collect what is due for one account up to ``until``; (invoices, lines)
    issued.

    With ``drafts``, what is due is stored as unnumbered drafts instead, and the account's
    balance is left alone and nothing is collected; drafts are recomputed on every run until
    one finalizes them.
    """
    batch = Batch()
    prepare_account(connection, account_id, until, drafts, batch, gateway, None)
    batch.write(connection, until)
    return len(batch.invoices), sum(len(entry.invoice.lines) for entry in batch.invoices)


def prepare_account(
    connection: Connection,
    account_id: str,
    until: datetime,
    drafts: bool,
    batch: Batch,
    gateway: PaymentGateway | None = None,
    endpoints: list[Endpoint] | None = None,
) -> None:
    """Everything of :func:`bill_account` but the writes, which join ``batch``: lock the
    account, drop its drafts, then issue and collect in time order
    (:class:`~seatwise.engine.collection.AccountRun`), or recompute the drafts."""
    repository.lock_account(connection, account_id)
    repository.delete_drafts(connection, account_id)
    if not drafts:
        if endpoints is None:
            endpoints = payments.endpoints(connection)
        AccountRun(connection, account_id, until, batch, gateway, endpoints).run()
        return
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
    settled, _ = settle(due.to_issue, stored.credit_balance, plan.currency)
    code = plan.currency.code
    batch.invoices.extend(NewInvoice(account_id, code, None, DRAFT, inv) for inv in settled)


def bill(
    engine: Engine,
    until: datetime,
    progress: Callable[[str], Any] | None = None,
    drafts: bool = False,
    gateway: PaymentGateway | None = None,
) -> BillingReport:
    """Bill and collect every account up to ``until``. Accounts are taken in id order, up to
    :data:`ACCOUNTS_PER_TRANSACTION` per transaction, whose invoices, payment attempts,
    reminders and messages are written together at its end: a transaction commits all of
    its accounts' work or none."""
    with engine.connect() as connection:
        ids = repository.account_ids(connection)
        endpoints = payments.endpoints(connection)
    invoices = lines = charges = paid = reminders = messages = 0
    for first in range(0, len(ids), ACCOUNTS_PER_TRANSACTION):
        chunk = ids[first : first + ACCOUNTS_PER_TRANSACTION]
        batch = Batch()
        with write_transaction(engine) as connection:
            for account_id in chunk:
                prepare_account(connection, account_id, until, drafts, batch, gateway, endpoints)
            batch.write(connection, until)
        invoices += len(batch.invoices)
        lines += sum(len(entry.invoice.lines) for entry in batch.invoices)
        charges += len(batch.attempts)
        paid += sum(1 for row in batch.attempts if row[payments.SUCCEEDED])
        reminders += len(batch.reminders)
        messages += len(batch.messages)
        if progress is not None:
            for account_id in chunk:
                progress(account_id)
    return BillingReport(len(ids), invoices, lines, charges, paid, reminders, messages)


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
