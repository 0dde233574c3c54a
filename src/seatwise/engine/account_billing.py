"""One account's billing in a transaction the caller holds: what is due up to an instant,
issued and collected in time order (:class:`~seatwise.engine.collection.AccountRun`), or
recomputed as drafts. Billing runs (:mod:`seatwise.engine.billing_run`) do this for many
accounts in one transaction; the use cases that must bill an account at once (a new account's
initial invoice, a late event, a payment method that charges) call :func:`bill_account`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from seatwise.core.billing import generate_invoices
from seatwise.core.gateway import PaymentGateway
from seatwise.core.invoice_states import DRAFT
from seatwise.core.invoicing import settle
from seatwise.core.reconcile import IssuedInvoice, reconcile
from seatwise.engine.batch import Batch, Preloaded
from seatwise.engine.collection import AccountRun
from seatwise.store import outbox_repository as outbox_store
from seatwise.store import repository
from seatwise.store.outbox_repository import Endpoint
from seatwise.store.repository import NewInvoice


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
    preloaded: Preloaded | None = None,
) -> None:
    """Everything of :func:`bill_account` but the writes, which join ``batch``: lock the
    account, drop its drafts, then issue and collect in time order
    (:class:`~seatwise.engine.collection.AccountRun`), or recompute the drafts. With
    ``preloaded``, the caller locked the account, dropped its drafts and read it."""
    if preloaded is None:
        repository.lock_account(connection, account_id)
        repository.delete_drafts(connection, account_id)
    if not drafts:
        if endpoints is None:
            endpoints = outbox_store.endpoints(connection)
        AccountRun(connection, account_id, until, batch, gateway, endpoints, preloaded).run()
        return
    if preloaded is not None and account_id in preloaded.stored:
        stored, history = preloaded.stored[account_id], preloaded.history[account_id]
        if account_id in preloaded.checkpoints:  # read from its checkpoint on: drafts need all
            stored = repository.load_account(connection, account_id)
            history = repository.issued_invoices(connection, account_id)
    else:
        stored = repository.load_account(connection, account_id)
        history = repository.issued_invoices(connection, account_id)
    plan, account = stored.plan, stored.account
    result = generate_invoices(plan, account, stored.events, until)
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
    repository.clear_billing_error(connection, account_id)
