"""Credits over the store (SPEC 7): quotes, purchases, assignments, and the wallet's ledger.

Credit events are timeline events like member changes: recorded with
:func:`seatwise.engine.recording.record_event`, checked by the core's rules (a refused one
stores nothing). After every recorded event the account's **ledger** is brought up to date:
the core replays the timeline to now, and the entries it gives beyond those already stored are
appended. Stored entries are never changed: an event that would change the credit history
already recorded (a credit event or a departure back-dated before it) is refused. Every write
holds the account's lock, so concurrent starts take turns and ``balance`` never goes below
zero; the unique (account, position) of the ledger is the last guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from seatwise.core.billing import generate_invoices
from seatwise.core.credits import (
    CHECKOUT,
    CREDIT_EVENT_TYPES,
    ON_INVOICE,
    BuyCredits,
    CreditEntry,
    CreditsPaid,
    Quote,
    Reservation,
    quote,
    totals,
)
from seatwise.core.dunning import method_at
from seatwise.core.errors import SeatwiseError, TimelineError
from seatwise.core.invoice_states import PAID
from seatwise.core.limits import MAX_CREDITS, check_count, check_instant
from seatwise.core.money import Currency
from seatwise.core.periods import iso
from seatwise.engine.clock import Clock
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.database import read_connection, write_transaction
from seatwise.store.payments_repository import StoredAttempt
from seatwise.store.repository import StoredAccount, StoredInvoice


class CreditsRefused(SeatwiseError):
    """A credit operation that cannot be done; nothing was stored."""


@dataclass(frozen=True)
class WalletView:
    """An account's credits as the ledger says, with the reservations still open."""

    account_id: str
    balance: int
    assigned: int
    entries: tuple[CreditEntry, ...]
    reservations: tuple[Reservation, ...]

    @property
    def over_assigned(self) -> bool:
        """More credits assigned than bought: the billing contacts are alerted and the
        billing page shows the balance in red."""
        return self.assigned > self.balance


def sync_ledger(
    connection: Connection,
    account_id: str,
    now: datetime,
    replayed: tuple[CreditEntry, ...] | None = None,
) -> list[CreditEntry]:
    """Append to the account's ledger what the timeline adds to it up to ``now``; the
    entries appended. ``replayed``: the ledger the core gives up to ``now``, when the caller
    has just walked the timeline. Raises :class:`CreditsRefused` if the timeline would rewrite
    entries already stored, and :class:`~seatwise.core.errors.TimelineError` for a credit event
    the core refuses. The caller holds the account's lock."""
    if replayed is None:
        stored = repository.load_account(connection, account_id)
        if stored.plan.credits is None and not _has_credit_events(stored):
            return []
        replayed = _replay(stored, now).entries
    kept = repository.ledger(connection, account_id)
    common = min(len(kept), len(replayed))
    if list(replayed[:common]) != kept[:common]:
        raise CreditsRefused(
            "this would change credit movements already recorded; credit events and "
            "departures of members holding assignments are recorded in time order"
        )
    new = list(replayed[len(kept) :])
    repository.append_ledger(connection, account_id, new, len(kept) + 1, now)
    return new


def _has_credit_events(stored: StoredAccount) -> bool:
    return any(isinstance(event, CREDIT_EVENT_TYPES) for event in stored.events)


def _replay(stored: StoredAccount, now: datetime) -> WalletReplay:
    result = generate_invoices(stored.plan, stored.account, stored.events, now)
    wallet = result.state.wallet
    return WalletReplay(wallet.entries, tuple(wallet.open.values()))


@dataclass(frozen=True)
class WalletReplay:
    entries: tuple[CreditEntry, ...]
    reservations: tuple[Reservation, ...]


def wallet(engine: Engine, account_id: str, now: datetime) -> WalletView:
    """The account's wallet: ``balance`` and ``assigned`` summed from its stored ledger."""
    with read_connection(engine) as connection:
        return wallet_of(connection, repository.load_account(connection, account_id), now)


def wallet_of(connection: Connection, stored: StoredAccount, now: datetime) -> WalletView:
    """:func:`wallet` of an account already loaded."""
    account_id = stored.id
    entries = tuple(repository.ledger(connection, account_id))
    balance, assigned = totals(entries)
    reservations = _replay(stored, now).reservations if entries else ()
    return WalletView(account_id, balance, assigned, entries, reservations)


@dataclass(frozen=True)
class PriceQuote:
    currency: Currency
    quote: Quote

    def text(self) -> str:
        return self.quote.text(self.currency)


def quote_credits(engine: Engine, account_id: str, credits: int) -> PriceQuote:
    """What ``credits`` credits cost the account, by its plan's credit tiers."""
    with read_connection(engine) as connection:
        stored = repository.load_account(connection, account_id)
    prices = stored.plan.credits
    if prices is None:
        raise CreditsRefused(f"account {account_id!r}: the plan has no credits")
    check_count(credits, "credits", MAX_CREDITS, minimum=1)
    return PriceQuote(stored.plan.currency, quote(prices, credits))


@dataclass(frozen=True)
class Purchase:
    """A credits purchase: its ``credits`` invoice, the charges it made at once (a checkout)
    and the wallet afterwards (the credits are in it once the invoice is paid)."""

    invoice: StoredInvoice
    collection: str
    attempts: tuple[StoredAttempt, ...]
    balance: int
    assigned: int

    @property
    def paid(self) -> bool:
        return self.invoice.status == PAID


def buy_credits(
    engine: Engine,
    account_id: str,
    credits: int,
    clock: Clock,
    collection: str = CHECKOUT,
    at: datetime | None = None,
) -> Purchase:
    """Buy credits at ``at`` (default: now): the ``credits`` invoice is issued at once (with
    anything else due for the account). A **checkout** (``charge_automatically``, the
    default) charges it at once to the payment method on file, whatever the plan's
    collection, and is refused when there is none; ``send_invoice`` sells the credits on an
    invoice to be paid by transfer. The credits reach the wallet when the invoice is paid."""
    from seatwise.engine.account_billing import bill_account  # billing runs record purchases too

    check_count(credits, "credits", MAX_CREDITS, minimum=1)
    if collection not in (CHECKOUT, ON_INVOICE):
        raise CreditsRefused(f"collection: {collection!r} is not {CHECKOUT} or {ON_INVOICE}")
    with write_transaction(engine) as connection:
        repository.lock_account(connection, account_id)
        now = clock.now()  # taken under the lock: purchases "now" are in the order they commit
        when = now if at is None else check_instant(at, "at")
        stored = repository.load_account(connection, account_id)
        check_purchase(connection, stored, when, now, collection)
        seq = repository.next_event_seq(connection, account_id)
        purchase = BuyCredits(when, credits, collection)
        repository.append_events(connection, account_id, [purchase], now, first_seq=seq)
        try:
            bill_account(connection, account_id, when)
            sync_ledger(connection, account_id, when)
        except TimelineError as error:
            raise CreditsRefused(str(error)) from None
        issued = next(
            entry
            for entry in reversed(repository.issued_invoices(connection, account_id))
            if entry.invoice.kind == "credits" and entry.invoice.period.start == when
        )
        made = payments.attempts_of_invoice(connection, issued.number or "")
        balance, assigned = totals(repository.ledger(connection, account_id))
    return Purchase(issued, collection, tuple(made), balance, assigned)


def check_purchase(
    connection: Connection, stored: StoredAccount, at: datetime, now: datetime, collection: str
) -> None:
    """A purchase at ``at`` can be recorded: credits on the plan, an instant that happened,
    the account still subscribed, and a payment method for a checkout."""
    if stored.plan.credits is None:
        raise CreditsRefused(f"account {stored.id!r}: the plan has no credits")
    if at > now:
        raise CreditsRefused(f"at: {iso(at)} is in the future (now is {iso(now)})")
    if at < stored.account.subscribed_at:
        raise CreditsRefused(f"at: {iso(at)} is before the subscription")
    last_issue = repository.last_issued_at(connection, stored.id)
    if last_issue is not None and at < last_issue:
        raise CreditsRefused(
            f"at: {iso(at)} is before the latest invoice ({iso(last_issue)}); a purchase is "
            "recorded when it happens"
        )
    end = payments.account_end(connection, stored.id)
    if end.ended_at is not None and at >= end.ended_at:
        raise CreditsRefused(f"account {stored.id!r} is {end.status}: it buys nothing more")
    if collection == CHECKOUT and method_at(payments.methods(connection, stored.id), at) == "none":
        raise CreditsRefused(
            f"account {stored.id!r} has no payment method on file: a purchase is charged at "
            "once (add one with `seatwise payment-method`), or sell the credits on an invoice "
            "(--collection send_invoice)"
        )


def credits_paid(connection: Connection, invoice: StoredInvoice, at: datetime) -> None:
    """A ``credits`` invoice was paid at ``at``: its credits reach the wallet (the caller
    holds the account's lock)."""
    seq = repository.next_event_seq(connection, invoice.account_id)
    event = CreditsPaid(at, invoice.invoice.period.start)
    repository.append_events(connection, invoice.account_id, [event], at, first_seq=seq)
    try:
        sync_ledger(connection, invoice.account_id, at)
    except TimelineError as error:
        raise CreditsRefused(str(error)) from None
