"""``seatwise simulate`` and ``seatwise demo``: the engine itself, run on a store.

A scenario is imported as an account, billed by the same billing run that bills a vendor's
accounts, and read back from the store; so a simulation shows exactly what the engine would
issue, numbers and statuses included. ``simulate`` uses a fresh in-memory SQLite database,
migrated like any other; the demo uses a file, so that its invoices can be explored after.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection, Engine

from seatwise.core.credits import totals
from seatwise.core.dunning import ManualPayment, PaymentError
from seatwise.core.errors import TimelineError
from seatwise.core.invoice_states import PAID, InvoiceStateError
from seatwise.core.notifications import Notification, order_key
from seatwise.engine.account_billing import bill_account
from seatwise.engine.credits import sync_ledger
from seatwise.engine.importing import import_scenario
from seatwise.engine.invoice_lifecycle import PAID_BY_HAND, LifecycleRefused, move
from seatwise.engine.queries import recompute
from seatwise.scenario import Scenario
from seatwise.scenario_result import SimulationResult
from seatwise.store import outbox_repository as outbox_store
from seatwise.store import repository
from seatwise.store.database import memory_engine, write_transaction
from seatwise.store.outbox_repository import Message
from seatwise.store.repository import UnknownInvoice
from seatwise.yaml_source import SourceError


def simulate(
    scenario: Scenario, engine: Engine | None = None, account_id: str = "simulated"
) -> SimulationResult:
    """Bill the scenario from its subscription to ``until`` through the engine, on ``engine``
    (a migrated database) or, by default, on a fresh in-memory one."""
    own = engine is None
    store = memory_engine() if engine is None else engine
    try:
        import_scenario(store, scenario, account_id, scenario.until, notify_history=True)
        try:
            with write_transaction(store) as connection:
                for payment in scenario.payments:  # billed up to it, then recorded by hand
                    bill_account(connection, account_id, payment.at)
                    pay_by_hand(connection, scenario, account_id, payment)
                bill_account(connection, account_id, scenario.until)
                sync_ledger(connection, account_id, scenario.until)
        except TimelineError as error:
            raise SourceError(scenario.file, None, str(error)) from None
        with store.connect() as connection:
            stored = repository.load_account(connection, account_id)
            issued = repository.issued_invoices(connection, account_id)
            credits = totals(repository.ledger(connection, account_id))
            messages = outbox_store.outbox_of(connection, account_id)
    finally:
        if own:
            store.dispose()
    billing = recompute(stored, scenario.until)
    return SimulationResult(
        scenario,
        replace(billing, invoices=tuple(entry.invoice for entry in issued)),
        tuple(entry.number or "" for entry in issued),
        tuple(entry.status for entry in issued),
        credits,
        tuple(sorted((notification(row.message) for row in messages), key=order_key)),
    )


def pay_by_hand(
    connection: Connection, scenario: Scenario, account_id: str, payment: ManualPayment
) -> None:
    """A scenario's ``pay`` event, as ``seatwise mark-paid`` records it."""
    try:
        invoice = repository.find_invoice(connection, payment.invoice)
    except UnknownInvoice:
        invoice = None
    if invoice is None or invoice.account_id != account_id:
        error = PaymentError(f"{payment.invoice} was not issued by then", payment)
        raise scenario.payment_error(error)
    try:
        move(connection, invoice, PAID, payment.at, PAID_BY_HAND, payment.amount)
    except (LifecycleRefused, InvoiceStateError) as refused:
        raise scenario.payment_error(PaymentError(str(refused), payment)) from None


def notification(message: Message) -> Notification:
    """A queued message as the notification it tells."""
    return Notification(
        message.at,
        message.kind,
        message.channel,
        message.recipients,
        message.invoice,
        message.payload["details"],
    )
