"""What billing runs read and write of accounts: which are due and claimed by a run, their
billing inputs (from their checkpoints on), and how a run left them. Over the caller's
connection; nothing here commits."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)

from seatwise.core.account import Account
from seatwise.core.billing import TimelineEvent
from seatwise.core.checkpoint import Checkpoint
from seatwise.core.plans import Plan, parse_plan
from seatwise.core.seat_timeline import Member
from seatwise.store import bulk
from seatwise.store.repository.accounts import BillingAddress, read_instant
from seatwise.store.repository.billing_timelines import read_timelines
from seatwise.store.repository.scope import UnknownAccount, check_in_scope, in_scope, scoped_account
from seatwise.store.tables import (
    accounts,
    contacts,
    members,
    plans,
)
from seatwise.store.types import UTCDateTime


@dataclass(frozen=True)
class StoredAccount:
    """An account's billing inputs as stored: plan, account, timeline, balance."""

    id: str
    plan: Plan
    account: Account
    events: tuple[TimelineEvent, ...]
    payment_method: str
    status: str
    credit_balance: int
    notify_from: datetime | None = None  # facts before it are not told (imported history)
    billing_address: BillingAddress | None = None
    plan_id: str = ""
    billing_error: str | None = None
    billed_until: datetime | None = None  # the latest instant a billing run billed it up to
    # Read from a checkpoint on (:func:`load_accounts`): ``events`` holds only the events
    # dated after this instant, and the credit purchases and final action whenever dated.
    events_after: datetime | None = None
    last_seq: int = 0  # the number of the last event recorded (when it was read)

    def tells(self, at: datetime) -> bool:
        """Whether a fact at ``at`` is told to anyone (emails, webhooks)."""
        return self.notify_from is None or at >= self.notify_from


def _due_by(until: datetime) -> ColumnElement[bool]:
    """Accounts with something due by ``until``, or whose next due instant is unknown (never
    billed, news since, a billing error)."""
    return or_(accounts.c.next_due_at.is_(None), accounts.c.next_due_at <= until)


@dataclass(frozen=True)
class Claimed:
    """Accounts a billing transaction claimed (locked until it ends), and the last id it
    looked at: the next claim starts after it (None: there was none left)."""

    ids: list[str]
    reached: str | None


def claim_accounts(
    connection: Connection,
    after: str,
    limit: int,
    due_by: datetime | None = None,
    only: Sequence[str] | None = None,
    skip_locked: bool = True,
    exclude: Collection[str] = (),
) -> Claimed:
    """The next accounts for a billing run to take, locked until the transaction ends: up to
    ``limit`` after ``after`` in id order (``due_by``: only those with something due by then
    or unknown; ``only``: among these; never those in ``exclude``). On PostgreSQL, with
    ``skip_locked``, an account another transaction holds is skipped (``FOR UPDATE SKIP
    LOCKED``), so workers billing at once each take different accounts and none waits for
    another; without it, the next accounts are locked waiting for any other transaction that
    holds them, and kept if they are still due then. SQLite has one writer, whose transaction
    holds them all."""
    due = None if due_by is None else _due_by(due_by)
    query = select(accounts.c.id).where(accounts.c.id > after).order_by(accounts.c.id).limit(limit)
    if due is not None:
        query = query.where(due)
    if only is not None:
        query = query.where(accounts.c.id.in_(list(only)))
    if exclude:
        query = query.where(accounts.c.id.not_in(list(exclude)))
    scoped = scoped_account()
    if scoped is not None:
        query = query.where(accounts.c.id == scoped)
    if connection.dialect.name != "postgresql" or skip_locked:
        if connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(connection.scalars(query))
        return Claimed(ids, ids[-1] if ids else None)
    candidates = list(connection.scalars(query))  # read first, then lock (waiting) and check
    if not candidates:
        return Claimed([], None)
    locking = select(accounts.c.id).where(accounts.c.id.in_(candidates)).order_by(accounts.c.id)
    if due is not None:
        locking = locking.where(due)  # checked again on the row as it is once unlocked
    return Claimed(list(connection.scalars(locking.with_for_update())), candidates[-1])


def count_accounts(connection: Connection, due_by: datetime | None = None) -> int:
    """How many accounts there are (``due_by``: with something due by then or unknown; in an
    account scope: 1 or 0)."""
    query = select(func.count()).select_from(accounts)
    if due_by is not None:
        query = query.where(_due_by(due_by))
    scoped = scoped_account()
    if scoped is not None:
        query = query.where(accounts.c.id == scoped)
    return int(connection.execute(query).scalar_one())


def mark_billing_error(connection: Connection, account_id: str, reason: str, at: datetime) -> None:
    """Remember why a billing run could not bill the account (cleared by the next success)."""
    connection.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(billing_error=reason[:2000], billing_error_at=at, next_due_at=None)
    )


def clear_billing_error(connection: Connection, account_id: str) -> None:
    connection.execute(
        update(accounts)
        .where(accounts.c.id == account_id, accounts.c.billing_error.is_not(None))
        .values(billing_error=None, billing_error_at=None)
    )


def load_account(connection: Connection, account_id: str) -> StoredAccount:
    """The account's billing inputs; :class:`UnknownAccount` if there is none (in scope)."""
    check_in_scope(account_id)
    found = load_accounts(connection, [account_id]).get(account_id)
    if found is None:
        raise UnknownAccount(f"no account {account_id!r}")
    return found


def load_accounts(
    connection: Connection,
    account_ids: Sequence[str],
    checkpoints: Mapping[str, Checkpoint] | None = None,
) -> dict[str, StoredAccount]:
    """Several accounts' billing inputs in four queries, whatever their number (those that
    exist and are in scope); a plan's definition is read once for all its accounts.

    With ``checkpoints`` (the accounts' stored ones, :mod:`seatwise.core.checkpoint`), the
    timeline of an account that has one is read from it on: the events dated after its
    instant, and the credit purchases and dunning's final action whenever they are dated
    (collection asks about them); ``events_after`` says so. An account with an event
    recorded since its checkpoint but dated at or before it (a late one) is read whole."""
    wanted = [account_id for account_id in dict.fromkeys(account_ids) if in_scope(account_id)]
    if not wanted:
        return {}
    rows = connection.execute(
        select(accounts, plans.c.definition)
        .join(plans, plans.c.id == accounts.c.plan_id)
        .where(accounts.c.id.in_(wanted))
    ).all()
    form = connection.dialect.name
    emails: dict[str, list[str]] = {row.id: [] for row in rows}
    for contact in connection.execute(
        bulk.of_each(
            form,
            select(contacts.c.account_id, contacts.c.email),
            contacts.c.account_id,
            ("account_id", "email"),
        ),
        {"account_ids": list(emails)},
    ):
        emails[contact.account_id].append(contact.email)
    people: dict[str, list[Member]] = {row.id: [] for row in rows}
    for m in connection.execute(
        bulk.of_each(form, select(members), members.c.account_id, ("account_id", "member_id")),
        {"account_ids": list(people)},
    ):
        people[m.account_id].append(Member(m.member_id, m.manage_billing, m.email))
    since = {a: c for a, c in (checkpoints or {}).items() if a in emails}
    events, last_seq, late = read_timelines(connection, list(emails), since)
    if late:
        whole, whole_seq, _ = read_timelines(connection, sorted(late), {})
        events.update(whole)
        last_seq.update(whole_seq)
    parsed: dict[str, Plan] = {}
    found: dict[str, StoredAccount] = {}
    for row in rows:
        plan = parsed.get(row.definition)
        if plan is None:
            plan = parsed[row.definition] = parse_plan(json.loads(row.definition))
        stored = _stored_account(row, plan, emails[row.id], people[row.id], events[row.id])
        after = since[row.id].at if row.id in since and row.id not in late else None
        found[row.id] = replace(stored, events_after=after, last_seq=last_seq[row.id])
    return found


def _stored_account(
    row: Any,
    plan: Plan,
    emails: list[str],
    people: list[Member],
    events: list[TimelineEvent],
) -> StoredAccount:
    account = Account(
        subscribed_at=row.subscribed_at,
        committed_seats=row.committed_seats,
        start_at=row.start_at,
        timezone=ZoneInfo(row.timezone),
        contacts=tuple(emails),
        members=tuple(people),
    )
    address = None
    if row.billing_name is not None:
        address = BillingAddress(
            row.billing_name,
            tuple(json.loads(row.billing_address or "[]")),
            row.billing_country,
            row.billing_tax_id,
        )
    return StoredAccount(
        row.id,
        plan,
        account,
        tuple(events),
        row.payment_method,
        row.status,
        row.credit_balance,
        row.notify_from,
        address,
        row.plan_id,
        row.billing_error,
        read_instant(row.billed_until),
    )


@dataclass(frozen=True)
class AccountAfterBilling:
    """The account as a billing run left it: ``billed_until`` (the run's ``until``) only ever
    moves forward: what has been invoiced for the account covers time up to it;
    ``next_due_at``: the next instant anything is due for it (None: unknown)."""

    account_id: str
    status: str
    credit_balance: int
    ended_at: datetime | None
    billed_until: datetime
    next_due_at: datetime | None


_UTC = UTCDateTime()


_AFTER_BILLING = (
    update(accounts)
    .where(accounts.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        credit_balance=bindparam("b_balance"),
        ended_at=bindparam("b_ended", type_=_UTC),
        next_due_at=bindparam("b_next_due", type_=_UTC),
        billed_until=case(
            (
                or_(
                    accounts.c.billed_until.is_(None),
                    accounts.c.billed_until < bindparam("b_until", type_=_UTC),
                ),
                bindparam("b_until", type_=_UTC),
            ),
            else_=accounts.c.billed_until,
        ),
        billing_error=None,
        billing_error_at=None,
    )
)


def update_accounts_after_billing(
    connection: Connection, after: Sequence[AccountAfterBilling]
) -> None:
    """Store how billing runs left accounts (one statement for all), clearing any billing
    error they had."""
    if not after:
        return
    connection.execute(
        _AFTER_BILLING,
        [
            {
                "b_id": a.account_id,
                "b_status": a.status,
                "b_balance": a.credit_balance,
                "b_ended": a.ended_at,
                "b_next_due": a.next_due_at,
                "b_until": a.billed_until,
            }
            for a in after
        ],
    )
