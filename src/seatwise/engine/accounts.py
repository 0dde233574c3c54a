"""Accounts as a vendor manages them: created with their plan and first members, read with
where they stand, updated (contacts, billing address, payment method), cancelled at the end of
their term (and taken back before), deleted (SPEC 3, 8, 10).

Every write runs in one transaction (joining the caller's unit of work, if any) and checks
its input first, so a refused request stores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, Engine

from seatwise.core.account import Account, Cancel, Terminate, Uncancel
from seatwise.core.billing import AccountState
from seatwise.core.errors import FieldError, SeatwiseError
from seatwise.core.gateway import TEST_METHODS, TestGateway
from seatwise.core.invoicing import Invoice
from seatwise.core.limits import (
    MAX_SEATS,
    check_account_id,
    check_count,
    check_email,
    check_instant,
    check_member_id,
    check_text,
    check_timezone,
)
from seatwise.core.periods import iso
from seatwise.core.projection import NextInvoice, next_invoice
from seatwise.core.seat_timeline import Member, MemberChange
from seatwise.engine.account_billing import bill_account
from seatwise.engine.addresses import address_data, check_address
from seatwise.engine.clock import Clock
from seatwise.engine.credits import WalletView, wallet_of
from seatwise.engine.gateways import configured_gateway
from seatwise.engine.payments import MethodUpdated, set_payment_method
from seatwise.engine.queries import recompute
from seatwise.engine.recording import Recorded, record_event
from seatwise.store import page_repository as pages
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.database import read_connection, write_transaction
from seatwise.store.repository import BillingAddress, StoredAccount


class AccountRefused(SeatwiseError):
    """An account change that cannot be made; nothing was stored."""


@dataclass(frozen=True)
class NewMember:
    """A member present when the account subscribes: ``active`` or ``invited``."""

    id: str
    state: str = "active"
    manage_billing: bool = False
    email: str | None = None


@dataclass(frozen=True)
class AccountSpec:
    """A new account. ``subscribed_at`` defaults to now and is never in the future;
    ``start_at`` is a delayed contract start. ``payment_method`` is the gateway's token
    (``none``: no method on file)."""

    id: str
    plan_id: str
    subscribed_at: datetime | None = None
    start_at: datetime | None = None
    timezone: str = "UTC"
    committed_seats: int = 0
    contacts: tuple[str, ...] = ()
    billing_address: BillingAddress | None = None
    payment_method: str = "none"
    members: tuple[NewMember, ...] = ()


def create_account(engine: Engine, spec: AccountSpec, clock: Clock) -> StoredAccount:
    """Store a new account on an existing plan, with its first members (each activated or
    invited at the subscription); refused, storing nothing, if anything does not hold."""
    now = clock.now()
    check_account_id(spec.id, "id")
    subscribed = check_instant(spec.subscribed_at or now, "subscribed_at")
    if subscribed > now:
        raise AccountRefused(
            f"subscribed_at: {iso(subscribed)} is in the future (now is {iso(now)}): create "
            "the account when it subscribes (a contract may start later: start_at)"
        )
    start = None if spec.start_at is None else check_instant(spec.start_at, "start_at")
    if start is not None and start < subscribed:
        raise FieldError("start_at", "the contract cannot start before the subscription")
    check_count(spec.committed_seats, "committed_seats", MAX_SEATS)
    contacts = tuple(
        check_email(email, f"contacts[{index}]") for index, email in enumerate(spec.contacts)
    )
    check_address(spec.billing_address)
    check_method(spec.payment_method)
    if len(spec.members) > MAX_SEATS:
        raise FieldError("members", f"at most {MAX_SEATS:,} members")
    seen: set[str] = set()
    people, events = [], []
    for index, member in enumerate(spec.members):
        check_member_id(member.id, f"members[{index}].id")
        if member.id in seen:
            raise FieldError(f"members[{index}].id", f"member {member.id!r} is listed twice")
        seen.add(member.id)
        if member.state not in ("active", "invited"):
            raise FieldError(
                f"members[{index}].state", f"{member.state!r} is not active or invited"
            )
        if member.email is not None:
            check_email(member.email, f"members[{index}].email")
        people.append(Member(member.id, member.manage_billing, member.email))
        first = "invite" if member.state == "invited" else "activate"
        events.append(MemberChange(subscribed, member.id, first))
    account = Account(
        subscribed_at=subscribed,
        committed_seats=spec.committed_seats,
        start_at=start,
        timezone=check_timezone(spec.timezone),
        contacts=tuple(dict.fromkeys(contacts)),
        members=tuple(people),
    )
    with write_transaction(engine) as connection:
        if repository.find_plan(connection, spec.plan_id) is None:
            raise FieldError("plan", f"no plan {spec.plan_id!r}")
        repository.hold_new_ids(connection, f"account:{spec.id}")
        if repository.has_account(connection, spec.id):
            raise AccountRefused(f"id: account {spec.id!r} exists already")
        repository.save_account(
            connection,
            spec.id,
            spec.plan_id,
            account,
            spec.payment_method,
            events,
            now,
            notify_from=now,
            address=spec.billing_address,
        )
        bill_account(connection, spec.id, now)  # what is due at once: the initial invoice
        return repository.load_account(connection, spec.id)


def check_method(method: str) -> None:
    """A payment method token: with the test gateway, one of its tokens."""
    check_text(method, "payment_method", 200)
    if isinstance(configured_gateway(), TestGateway) and not TEST_METHODS.match(method):
        raise FieldError(
            "payment_method",
            f"{method!r} is not one the test gateway knows (succeeds, declines, "
            "declines_first_N, none)",
        )


@dataclass(frozen=True)
class AccountView:
    """An account and where it stands at ``at``."""

    stored: StoredAccount
    at: datetime
    state: AccountState
    wallet: WalletView
    ended_at: datetime | None
    next_invoice: NextInvoice | None

    @property
    def cancels_at(self) -> datetime | None:
        """When a cancellation not yet in effect ends the subscription."""
        if self.state.status == "active" and self.state.ends_at is not None:
            return self.state.ends_at
        return None


def account_view(engine: Engine, account_id: str, at: datetime) -> AccountView:
    with read_connection(engine) as connection:
        return view_of(connection, repository.load_account(connection, account_id), at)


def view_of(connection: Connection, stored: StoredAccount, at: datetime) -> AccountView:
    """:func:`account_view` of an account already loaded."""
    ended_at = payments.account_end(connection, stored.id).ended_at
    result = recompute(stored, at)
    state = result.state
    if stored.status != "active":
        state = replace(state, status=stored.status)
    upcoming = None
    if state.status == "active":
        upcoming = _not_issued_yet(connection, stored, result.proposed)
        if upcoming is None:
            upcoming = next_invoice(stored.plan, stored.account, stored.events, at)
    return AccountView(stored, at, state, wallet_of(connection, stored, at), ended_at, upcoming)


def _not_issued_yet(
    connection: Connection, stored: StoredAccount, due: Sequence[Invoice]
) -> NextInvoice | None:
    """The first invoice of the timeline up to now that is not issued (nor a draft) yet:
    billing is behind, and that invoice, not the next one on the calendar, comes next."""
    since = stored.billed_until
    candidates = [i for i in due if since is None or i.issued_at > since]
    if not candidates:  # billed up to after the last of them: none can be missing
        return None
    issued = repository.invoice_keys(connection, stored.id)  # drafts too
    for invoice in candidates:
        if invoice.key not in issued:
            return NextInvoice(invoice.kind, invoice.issued_at, invoice.total, due=True)
    return None


def accounts_page(
    engine: Engine, status: str | None, after: str | None, limit: int
) -> list[repository.AccountRow]:
    with read_connection(engine) as connection:
        return repository.account_rows(connection, status, after, limit)


def timeline_page(
    engine: Engine, account_id: str, after: int | None, limit: int
) -> list[repository.RecordedEvent]:
    """The account's events in the order recorded, after seq ``after``;
    :class:`~seatwise.store.repository.UnknownAccount` if there is no such account (an
    account without events has an empty timeline, one that does not exist has none)."""
    with read_connection(engine) as connection:
        repository.check_account(connection, account_id)
        return repository.timeline_page(connection, account_id, after, limit)


@dataclass(frozen=True)
class AccountChanges:
    """What an update changes; None leaves a field as it is."""

    contacts: tuple[str, ...] | None = None
    billing_address: BillingAddress | None = None
    clear_billing_address: bool = False
    payment_method: str | None = None


def update_account(
    engine: Engine, account_id: str, changes: AccountChanges, clock: Clock, by: str = "operator"
) -> MethodUpdated | None:
    """Change contacts, billing address and payment method; a new payment method charges
    the unpaid invoices at once (SPEC 8). Each change is recorded with who made it (``by``:
    ``key:ID``, ``session:ID``, ``page:MEMBER``, ``operator``). Returns what setting the
    method did."""
    contacts = None
    if changes.contacts is not None:
        checked = [check_email(e, f"contacts[{i}]") for i, e in enumerate(changes.contacts)]
        contacts = list(dict.fromkeys(checked))
    check_address(changes.billing_address)
    if changes.payment_method is not None:
        check_method(changes.payment_method)
    with write_transaction(engine) as connection:
        repository.lock_account(connection, account_id)
        stored = repository.load_account(connection, account_id)
        now = clock.now()
        if contacts is not None and contacts != list(stored.account.contacts):
            repository.replace_contacts(connection, account_id, contacts)
            pages.add_change(
                connection,
                account_id,
                now,
                by,
                "contacts",
                list(stored.account.contacts),
                contacts,
            )
        address_given = changes.billing_address is not None or changes.clear_billing_address
        if address_given and changes.billing_address != stored.billing_address:
            repository.update_billing_address(connection, account_id, changes.billing_address)
            pages.add_change(
                connection,
                account_id,
                now,
                by,
                "billing_address",
                address_data(stored.billing_address),
                address_data(changes.billing_address),
            )
        if changes.payment_method is not None:
            return set_payment_method(engine, account_id, changes.payment_method, clock, by=by)
    return None


def cancel(engine: Engine, account_id: str, clock: Clock) -> Recorded:
    """The account unsubscribes now: the subscription ends at the end of the current term or
    cycle, with access until then."""
    return record_event(engine, account_id, Cancel(clock.now()), clock, happens_now=True)


def uncancel(engine: Engine, account_id: str, clock: Clock) -> Recorded:
    """Take back a cancellation before it took effect."""
    return record_event(engine, account_id, Uncancel(clock.now()), clock, happens_now=True)


def delete_account(engine: Engine, account_id: str, clock: Clock) -> None:
    """The vendor's final action: billing stops now (pending items are dropped, what was
    invoiced stays owed) and the account's personal data is purged 120 days later."""
    with write_transaction(engine) as connection:
        repository.lock_account(connection, account_id)
        now = clock.now()
        end = payments.account_end(connection, account_id)
        if end.ended_at is not None and end.ended_at <= now:
            raise AccountRefused(f"account {account_id!r} is {end.status} already")
        seq = repository.next_event_seq(connection, account_id)
        repository.append_events(connection, account_id, [Terminate(now, "delete")], now, seq)
        bill_account(connection, account_id, now)
