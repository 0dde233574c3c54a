"""Reading an account's billing from the store: its state, its projected invoice, and an
invoice explained line by line (SPEC 6 and 10). Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, Engine

from seatwise.core.billing import AccountState, BillingResult, generate_invoices
from seatwise.core.money import Currency, currency
from seatwise.core.projection import Projection, project_invoice
from seatwise.store import repository
from seatwise.store.database import read_connection
from seatwise.store.repository import StatusChange, StoredAccount, StoredCreditNote, StoredInvoice


def account_state(stored: StoredAccount, at: datetime) -> AccountState:
    """Where the account stands at ``at``: seats recomputed from its timeline, status and
    credit balance as the store holds them (credit notes and voids move the balance)."""
    return recompute(stored, at).state


def recompute(stored: StoredAccount, at: datetime) -> BillingResult:
    """The core's billing of the stored timeline up to ``at``, its state completed by the
    store's status and credit balance."""
    result = generate_invoices(stored.plan, stored.account, stored.events, at)
    state = replace(result.state, status=stored.status, credit_balance=stored.credit_balance)
    return replace(result, state=state)


@dataclass(frozen=True)
class ProjectedInvoice:
    account_id: str
    currency: Currency
    projection: Projection


def projected_invoice(engine: Engine, account_id: str, at: datetime) -> ProjectedInvoice:
    """What the account's next invoice would hold if its cycle ended at ``at``, using the
    credit balance the account has now; with the members it counts."""
    with read_connection(engine) as connection:
        stored = repository.load_account(connection, account_id)
    projection = project_invoice(
        stored.plan, stored.account, stored.events, at, stored.credit_balance
    )
    return ProjectedInvoice(account_id, stored.plan.currency, projection)


@dataclass(frozen=True)
class InvoiceDetails:
    """A finalized invoice with everything needed to explain it."""

    stored: StoredInvoice
    currency: Currency
    history: tuple[StatusChange, ...]
    credit_notes: tuple[StoredCreditNote, ...]

    @property
    def amount_due(self) -> int:
        """What is still to pay: nothing once paid or void, else the total less credit notes."""
        if self.stored.status in ("paid", "void"):
            return 0
        return self.stored.invoice.total - sum(note.amount for note in self.credit_notes)


def invoice_details(connection: Connection, number: str) -> InvoiceDetails:
    stored = repository.find_invoice(connection, number)
    return InvoiceDetails(
        stored,
        currency(stored.currency_code),
        tuple(repository.status_history(connection, stored.id)),
        tuple(repository.credit_notes_of(connection, stored.id)),
    )


def _with_details(connection: Connection, stored: list[StoredInvoice]) -> list[InvoiceDetails]:
    """Each invoice with its credit notes and status history: two queries for all of them."""
    ids = [entry.id for entry in stored]
    notes = repository.credit_notes_by_invoice(connection, ids)
    histories = repository.status_histories(connection, ids)
    return [
        InvoiceDetails(
            entry,
            currency(entry.currency_code),
            tuple(histories.get(entry.id, ())),
            tuple(notes.get(entry.id, ())),
        )
        for entry in stored
    ]


def invoices_of(engine: Engine, account_id: str, drafts: bool = False) -> list[InvoiceDetails]:
    """The account's finalized invoices (or its drafts) in issue order, each with its credit
    notes and status history (three queries, whatever their number)."""
    with read_connection(engine) as connection:
        repository.load_account(connection, account_id)  # UnknownAccount if it is not one
        stored = repository.issued_invoices(connection, account_id, drafts=drafts)
        return _with_details(connection, stored)


def invoice_page(
    engine: Engine,
    which: repository.InvoiceFilter,
    after: str | None,
    limit: int,
    newest_first: bool = False,
) -> list[InvoiceDetails]:
    """A page of invoices (in issue order, after the one named ``after``; or the reverse),
    each with its credit notes and status history, in four queries."""
    with read_connection(engine) as connection:
        if which.account_id is not None:
            repository.check_account(connection, which.account_id)  # 404 out of scope
        stored = repository.invoice_page(connection, which, after, limit, newest_first)
        return _with_details(connection, stored)


def draft_details(engine: Engine, public_id: str) -> InvoiceDetails:
    with read_connection(engine) as connection:
        stored = repository.draft_by_id(connection, public_id)
        return InvoiceDetails(
            stored,
            currency(stored.currency_code),
            tuple(repository.status_history(connection, stored.id)),
            (),
        )


def explain_invoice(engine: Engine, number: str) -> InvoiceDetails:
    """Invoice ``number`` with its lines' explanations, its status history and credit notes."""
    with read_connection(engine) as connection:
        return invoice_details(connection, number)
