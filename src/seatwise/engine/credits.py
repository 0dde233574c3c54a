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
    CREDIT_EVENT_TYPES,
    BuyCredits,
    CreditEntry,
    CreditsPaid,
    Quote,
    Reservation,
    quote,
    totals,
)
from seatwise.core.errors import SeatwiseError, TimelineError
from seatwise.core.money import Currency
from seatwise.engine.clock import Clock
from seatwise.store import repository
from seatwise.store.database import write_transaction
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
    with engine.connect() as connection:
        stored = repository.load_account(connection, account_id)
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
    with engine.connect() as connection:
        stored = repository.load_account(connection, account_id)
    prices = stored.plan.credits
    if prices is None:
        raise CreditsRefused(f"account {account_id!r}: the plan has no credits")
    if credits < 1:
        raise CreditsRefused("credits: a quote is for at least one credit")
    return PriceQuote(stored.plan.currency, quote(prices, credits))


def buy_credits(engine: Engine, account_id: str, credits: int, clock: Clock) -> StoredInvoice:
    """Buy credits now: the ``credits`` invoice is issued at once (with anything else due for
    the account); its credits are added to the wallet when it is paid."""
    from seatwise.engine.billing_run import bill_account

    if credits < 1:
        raise CreditsRefused("credits: a purchase is of at least one credit")
    now = clock.now()
    with write_transaction(engine) as connection:
        repository.lock_account(connection, account_id)
        stored = repository.load_account(connection, account_id)
        if stored.plan.credits is None:
            raise CreditsRefused(f"account {account_id!r}: the plan has no credits")
        seq = repository.next_event_seq(connection, account_id)
        repository.append_events(
            connection, account_id, [BuyCredits(now, credits)], now, first_seq=seq
        )
        try:
            bill_account(connection, account_id, now)
            sync_ledger(connection, account_id, now)
        except TimelineError as error:
            raise CreditsRefused(str(error)) from None
        issued = repository.issued_invoices(connection, account_id)
    for entry in reversed(issued):
        if entry.invoice.kind == "credits" and entry.invoice.period.start == now:
            return entry
    raise CreditsRefused(f"account {account_id!r}: the purchase could not be invoiced")


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
