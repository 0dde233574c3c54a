"""Previews: what a billing run up to an instant (the future too) would do, computed by the
billing run itself in one transaction that is rolled back; nothing is stored or sent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from seatwise.core.gateway import ChargeOutcome, ChargeRequest, PaymentGateway, TestGateway
from seatwise.core.invoicing import Invoice
from seatwise.core.limits import check_instant
from seatwise.engine.account_billing import prepare_account
from seatwise.engine.batch import Batch
from seatwise.engine.billing_report import AccountFailure, one_line
from seatwise.engine.gateways import configured_gateway
from seatwise.store import outbox_repository as outbox_store
from seatwise.store import payments_repository as payments
from seatwise.store import repository


@dataclass(frozen=True)
class PreviewedInvoice:
    account_id: str
    number: str  # provisional: the numbers it would take if billed now
    invoice: Invoice
    currency_code: str
    status: str


@dataclass(frozen=True)
class Preview:
    """What a billing run up to ``until`` would do; nothing of it was stored or sent.
    Charges are answered by the test gateway's rule when it is the gateway in use, and
    assumed to succeed with any other (no real payment provider is asked)."""

    until: datetime
    invoices: tuple[PreviewedInvoice, ...]
    charges: int
    paid: int
    reminders: int
    messages: int
    failed: tuple[AccountFailure, ...]


class _AssumedPaid:
    """The gateway of a preview with a real provider configured: nothing is charged."""

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        return ChargeOutcome(True, reference="preview")


def preview(engine: Engine, until: datetime, gateway: PaymentGateway | None = None) -> Preview:
    """What ``bill`` up to ``until`` (even in the future) would issue, charge, remind and tell,
    computed by the billing run itself in one transaction that is rolled back."""
    check_instant(until, "until")
    configured = gateway or configured_gateway()
    looking: PaymentGateway = configured if isinstance(configured, TestGateway) else _AssumedPaid()
    batch = Batch()
    failed: list[AccountFailure] = []
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            endpoints = outbox_store.endpoints(connection)
            for account_id in repository.account_ids(connection):
                error = _in_savepoint(
                    connection, batch,
                    partial(prepare_account, connection, account_id, until, False, batch,
                            looking, endpoints),
                )  # fmt: skip
                if error is not None:
                    failed.append(AccountFailure(account_id, one_line(error)))
            batch.take_numbers(connection)  # the numbers they would take (given back)
        finally:
            transaction.rollback()
    return Preview(
        until,
        tuple(
            PreviewedInvoice(e.account_id, e.number or "", e.invoice, e.currency_code, e.status)
            for e in batch.invoices
        ),
        len(batch.attempts),
        sum(1 for row in batch.attempts if row[payments.SUCCEEDED]),
        len(batch.reminders),
        len(batch.messages),
        tuple(failed),
    )


def _in_savepoint(
    connection: Connection, batch: Batch, bill_one: Callable[[], None]
) -> Exception | None:
    """Bill one account in a savepoint of its own; if it fails (not the database: that stops
    the run), roll back to the savepoint, drop what it added to the batch, and say why."""
    mark = batch.mark()
    savepoint = connection.begin_nested()
    try:
        bill_one()
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:
        savepoint.rollback()
        batch.undo(mark)
        return error
    savepoint.commit()
    return None
