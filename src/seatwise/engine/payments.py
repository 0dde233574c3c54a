"""Use cases of getting paid: changing the payment method, receipts, webhook endpoints.

Charges, retries, reminders and dunning's final action happen in billing runs
(:mod:`seatwise.engine.collection`); what is here is what a person does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from seatwise.collect.webhooks import new_secret
from seatwise.core.dunning import BY_HAND
from seatwise.core.errors import SeatwiseError
from seatwise.core.gateway import TEST_METHODS, PaymentGateway, TestGateway
from seatwise.core.limits import check_url
from seatwise.core.money import Currency, currency
from seatwise.core.periods import iso
from seatwise.engine.account_billing import bill_account
from seatwise.engine.clock import Clock
from seatwise.engine.gateways import configured_gateway
from seatwise.engine.invoice_lifecycle import PAID_BY_HAND
from seatwise.store import outbox_repository as outbox_store
from seatwise.store import page_repository as pages
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.database import read_connection, write_transaction
from seatwise.store.payments_repository import StoredAttempt


class PaymentRefused(SeatwiseError):
    """A payment request that cannot be done; nothing was stored."""


class UnknownEndpoint(SeatwiseError):
    """No active webhook endpoint has this id."""


@dataclass(frozen=True)
class MethodUpdated:
    account: str
    method: str
    at: datetime
    attempts: tuple[StoredAttempt, ...]  # the charges it made at once (unpaid invoices)


def set_payment_method(
    engine: Engine,
    account_id: str,
    method: str,
    clock: Clock,
    at: datetime | None = None,
    gateway: PaymentGateway | None = None,
    by: str = "operator",
) -> MethodUpdated:
    """From ``at`` (default: now) the account pays with ``method``; every unpaid invoice that
    the plan charges automatically is charged to it at once (SPEC 8), by a billing run of the
    account up to ``at`` in the same transaction. The change is recorded with who made it
    (``by``)."""
    now = clock.now()
    at = now if at is None else at
    if at > now:
        raise PaymentRefused(f"at: {iso(at)} is in the future (now is {iso(now)})")
    if not method.strip():
        raise PaymentRefused("method: give the gateway's token for the payment method")
    gateway = gateway or configured_gateway()
    if isinstance(gateway, TestGateway) and not TEST_METHODS.match(method):
        raise PaymentRefused(
            f"method: {method!r} is not one the test gateway knows (succeeds, declines, "
            "declines_first_N, none); configure a real gateway to use its tokens"
        )
    with write_transaction(engine) as connection:
        repository.lock_account(connection, account_id)
        stored = repository.load_account(connection, account_id)
        known = payments.methods(connection, account_id)
        if known and at < known[-1].at:
            raise PaymentRefused(
                f"at: {iso(at)} is before the current method's start ({iso(known[-1].at)})"
            )
        if stored.status in ("suspended", "cancelled", "deleted"):
            raise PaymentRefused(f"account {account_id!r} is {stored.status}")
        last_issue = repository.last_issued_at(connection, account_id)
        if last_issue is not None and at < last_issue:
            raise PaymentRefused(
                f"at: {iso(at)} is before the latest invoice ({iso(last_issue)}); a payment "
                "method takes effect from now on"
            )
        before = len(payments.attempts(connection, account_id))
        payments.add_method(connection, account_id, at, method, now)
        old = known[-1].method if known else "none"
        pages.add_change(connection, account_id, now, by, "payment_method", old, method)
        bill_account(connection, account_id, at, gateway=gateway)
        made = payments.attempts(connection, account_id)[before:]
    return MethodUpdated(account_id, method, at, tuple(made))


@dataclass(frozen=True)
class Receipt:
    """Proof of one payment of an invoice."""

    receipt: str
    invoice: str
    account: str
    currency: Currency
    amount_minor: int
    paid_at: datetime
    method: str
    reference: str

    @property
    def amount(self) -> str:
        """The amount as a person reads it: ``$24.00``."""
        return self.currency.display(self.amount_minor)

    @property
    def how(self) -> str:
        """How it was paid, in words: ``charged to payment method succeeds`` or ``payment
        recorded by hand (bank transfer 42)``."""
        if self.method == BY_HAND:
            said = self.note and self.note != PAID_BY_HAND
            return "payment recorded by hand" + (f" ({self.note})" if said else "")
        return f"charged to payment method {self.method}"

    note: str = ""  # for a payment by hand: what was recorded with it

    def text(self) -> str:
        reference = f", reference {self.reference}" if self.reference else ""
        return (
            f"Receipt {self.receipt}: {self.amount} received for invoice {self.invoice} "
            f"({self.account}) on {iso(self.paid_at)}, {self.how}{reference}"
        )


def receipts(engine: Engine, number: str) -> list[Receipt]:
    """The receipts of invoice ``number`` (a charge that succeeded, or a payment recorded)."""
    with read_connection(engine) as connection:
        invoice = repository.find_invoice(connection, number)
        made = payments.attempts_of_invoice(connection, number)
    cur = currency(invoice.currency_code)
    return [
        Receipt(
            a.receipt or "",
            number,
            invoice.account_id,
            cur,
            a.amount,
            a.attempt.at,
            a.attempt.method,
            a.reference,
            a.attempt.reason if a.attempt.method == BY_HAND else "",
        )
        for a in made
        if a.attempt.succeeded
    ]


@dataclass(frozen=True)
class AccountPayments:
    """Every charge made for an account (and payment recorded by hand), in its currency."""

    currency: Currency
    attempts: tuple[StoredAttempt, ...]


def attempts_of(engine: Engine, account_id: str) -> AccountPayments:
    with read_connection(engine) as connection:
        stored = repository.load_account(connection, account_id)
        made = payments.attempts(connection, account_id)
    return AccountPayments(stored.plan.currency, tuple(made))


def add_webhook_endpoint(engine: Engine, url: str, clock: Clock) -> outbox_store.Endpoint:
    """Register an endpoint; messages queued from now on are also sent there, signed with the
    returned secret (its own). A URL registered already is refused."""
    check_url(url)
    secret = new_secret()
    with write_transaction(engine) as connection:
        for known in outbox_store.endpoints(connection):
            if known.url == url:
                raise PaymentRefused(
                    f"url: {url} is registered already, as endpoint {known.id} (rotate its "
                    "secret with `seatwise webhooks rotate-secret`)"
                )
        endpoint_id = outbox_store.add_endpoint(connection, url, secret, clock.now())
    return outbox_store.Endpoint(endpoint_id, url, secret)


def webhook_endpoints(engine: Engine) -> list[outbox_store.Endpoint]:
    """The active endpoints, oldest first."""
    with read_connection(engine) as connection:
        return outbox_store.endpoints(connection)


def webhook_deliveries(
    engine: Engine, endpoint_id: int | None, after: int | None, limit: int
) -> list[outbox_store.OutboxRow]:
    """The webhook messages (to one endpoint), oldest first, after outbox id ``after``, and how
    their delivery went."""
    with read_connection(engine) as connection:
        return outbox_store.webhook_messages(connection, endpoint_id, after, limit)


def remove_webhook_endpoint(engine: Engine, endpoint_id: int) -> None:
    """Send nothing more to an endpoint; its messages not delivered yet are skipped."""
    with write_transaction(engine) as connection:
        if not outbox_store.remove_endpoint(connection, endpoint_id):
            raise UnknownEndpoint(f"no webhook endpoint {endpoint_id}")


def rotate_webhook_secret(engine: Engine, endpoint_id: int) -> outbox_store.Endpoint:
    """A new secret for an endpoint: every delivery from now on is signed with it."""
    secret = new_secret()
    with write_transaction(engine) as connection:
        if not outbox_store.rotate_secret(connection, endpoint_id, secret):
            raise UnknownEndpoint(f"no webhook endpoint {endpoint_id}")
        url = next(e.url for e in outbox_store.endpoints(connection) if e.id == endpoint_id)
    return outbox_store.Endpoint(endpoint_id, url, secret)
