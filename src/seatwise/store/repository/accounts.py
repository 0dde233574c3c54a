"""Accounts and their members: creating, addressing, listing, locking, one member's history.
Over the caller's connection; nothing here commits."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Select,
    insert,
    select,
    update,
)

from seatwise.core.account import Account
from seatwise.core.billing import TimelineEvent
from seatwise.core.money import Currency
from seatwise.core.plans import parse_plan
from seatwise.core.seat_timeline import MEMBER_ACTIONS, Member, MemberChange
from seatwise.store import driver
from seatwise.store.repository.scope import UnknownAccount, check_in_scope, in_scope, scoped_account
from seatwise.store.repository.timelines import append_events
from seatwise.store.tables import (
    accounts,
    contacts,
    members,
    payment_methods,
    plans,
    timeline_events,
)


@dataclass(frozen=True)
class BillingAddress:
    """Where invoices are addressed: printed on them."""

    name: str
    lines: tuple[str, ...] = ()
    country: str | None = None  # ISO 3166-1 alpha-2
    tax_id: str | None = None


def save_account(
    connection: Connection,
    account_id: str,
    plan_id: str,
    account: Account,
    payment_method: str,
    events: Sequence[TimelineEvent],
    now: datetime,
    notify_from: datetime | None = None,
    address: BillingAddress | None = None,
) -> None:
    connection.execute(
        insert(accounts).values(
            **_address_columns(address),
            id=account_id,
            plan_id=plan_id,
            subscribed_at=account.subscribed_at,
            start_at=account.start_at,
            committed_seats=account.committed_seats,
            timezone=account.timezone.key,
            payment_method=payment_method,
            status="active",
            credit_balance=0,
            created_at=now,
            notify_from=notify_from,
        )
    )
    if account.contacts:
        connection.execute(
            insert(contacts),
            [{"account_id": account_id, "email": email} for email in account.contacts],
        )
    if account.members:
        connection.execute(
            insert(members),
            [
                {
                    "account_id": account_id,
                    "member_id": m.id,
                    "manage_billing": m.manage_billing,
                    "email": m.email,
                }
                for m in account.members
            ],
        )
    append_events(connection, account_id, events, now, first_seq=1)
    connection.execute(
        insert(payment_methods).values(
            account_id=account_id, at=account.subscribed_at, method=payment_method, recorded_at=now
        )
    )


def _address_columns(address: BillingAddress | None) -> dict[str, Any]:
    if address is None:
        return {
            "billing_name": None,
            "billing_address": None,
            "billing_country": None,
            "billing_tax_id": None,
        }
    return {
        "billing_name": address.name,
        "billing_address": json.dumps(list(address.lines)),
        "billing_country": address.country,
        "billing_tax_id": address.tax_id,
    }


def update_billing_address(
    connection: Connection, account_id: str, address: BillingAddress | None
) -> None:
    connection.execute(
        update(accounts).where(accounts.c.id == account_id).values(**_address_columns(address))
    )


def replace_contacts(connection: Connection, account_id: str, emails: Sequence[str]) -> None:
    connection.execute(contacts.delete().where(contacts.c.account_id == account_id))
    if emails:
        connection.execute(
            insert(contacts), [{"account_id": account_id, "email": email} for email in emails]
        )


def account_ids(connection: Connection) -> list[str]:
    """Every account's id (in an account scope: that account's), in order."""
    query = select(accounts.c.id).order_by(accounts.c.id)
    scoped = scoped_account()
    if scoped is not None:
        query = query.where(accounts.c.id == scoped)
    return list(connection.scalars(query))


def member_history(
    connection: Connection, account_id: str, member_id: str
) -> tuple[Member | None, list[MemberChange]]:
    """One member of an account and their changes in time order, in two small queries
    (whatever the account's history): who may see its billing is decided from this.
    :class:`UnknownAccount` for an account the scope does not know."""
    check_account(connection, account_id)
    row = connection.execute(
        select(members).where(members.c.account_id == account_id, members.c.member_id == member_id)
    ).one_or_none()
    if row is None:
        return None, []
    changes = [
        MemberChange(found.at, member_id, found.action)
        for found in connection.execute(
            select(timeline_events.c.at, timeline_events.c.action)
            .where(
                timeline_events.c.account_id == account_id,
                timeline_events.c.member_id == member_id,
                timeline_events.c.action.in_(MEMBER_ACTIONS),
            )
            .order_by(timeline_events.c.at, timeline_events.c.seq)
        )
    ]
    return Member(member_id, bool(row.manage_billing), row.email), changes


def read_instant(value: datetime | str | None) -> datetime | None:
    """An instant read through an expression without a column type: aware, in UTC."""
    if isinstance(value, str):  # SQLite gives the stored text
        value = datetime.fromisoformat(value)
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def has_account(connection: Connection, account_id: str) -> bool:
    """Whether an account has this id (one light query: nothing is loaded)."""
    found = connection.execute(select(accounts.c.id).where(accounts.c.id == account_id))
    return found.one_or_none() is not None


def check_account(connection: Connection, account_id: str) -> None:
    """:class:`UnknownAccount` unless the account exists in the current scope."""
    check_in_scope(account_id)
    if not has_account(connection, account_id):
        raise UnknownAccount(f"no account {account_id!r}")


def lock_account(connection: Connection, account_id: str) -> None:
    """Hold the account's row until the transaction ends, so that two workers billing the
    same account take turns (PostgreSQL; SQLite's writers are serialized already);
    :class:`UnknownAccount` if there is none."""
    check_in_scope(account_id)
    query = select(accounts.c.id).where(accounts.c.id == account_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    if connection.execute(query).one_or_none() is None:
        raise UnknownAccount(f"no account {account_id!r}")


def lock_accounts_later(
    connection: Connection, account_ids: Sequence[str]
) -> Callable[[], set[str]]:
    """Lock several accounts at once, in id order (the order every lock is taken in): the
    statement is sent now (:func:`~seatwise.store.driver.rows_later`); which of them exist
    (in scope) when called for, locked once it has run."""
    if not account_ids:
        return set
    query = _lock_query(connection.dialect.name)
    found = driver.rows_later(connection, query, {"ids": list(account_ids)})
    return lambda: {row.id for row in found() if in_scope(row.id)}


@functools.cache
def _lock_query(dialect: str) -> Select[Any]:
    """Built once, run by the driver (recording a few events takes it each time)."""
    query = select(accounts.c.id).where(driver.one_of(dialect, accounts.c.id, "ids"))
    if dialect == "postgresql":
        query = query.order_by(accounts.c.id).with_for_update()
    return query


@dataclass(frozen=True)
class AccountRow:
    """An account as ``seatwise accounts`` lists it."""

    id: str
    plan_id: str
    status: str
    subscribed_at: datetime
    ended_at: datetime | None
    billing_error: str | None
    billing_error_at: datetime | None


def account_rows(
    connection: Connection,
    status: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[AccountRow]:
    """Every account (with ``status``: those in it; ``billing_error``: those marked), by id;
    after ``after`` and at most ``limit`` of them (keyset pagination)."""
    query = select(accounts).order_by(accounts.c.id)
    if after is not None:
        query = query.where(accounts.c.id > after)
    if limit is not None:
        query = query.limit(limit)
    scoped = scoped_account()
    if scoped is not None:
        query = query.where(accounts.c.id == scoped)
    if status == "billing_error":
        query = query.where(accounts.c.billing_error.is_not(None))
    elif status is not None:
        query = query.where(accounts.c.status == status)
    return [
        AccountRow(
            row.id,
            row.plan_id,
            row.status,
            row.subscribed_at,
            row.ended_at,
            row.billing_error,
            row.billing_error_at,
        )
        for row in connection.execute(query)
    ]


@dataclass(frozen=True)
class AccountBasics:
    """What showing an account's amounts and dates needs, without its history."""

    id: str
    currency: Currency
    timezone: ZoneInfo
    payment_method: str


def account_basics(connection: Connection, account_id: str) -> AccountBasics:
    """The account's currency, time zone and payment method, in one query (the account scope
    applies)."""
    check_in_scope(account_id)
    row = connection.execute(
        select(accounts.c.timezone, accounts.c.payment_method, plans.c.definition)
        .join(plans, plans.c.id == accounts.c.plan_id)
        .where(accounts.c.id == account_id)
    ).one_or_none()
    if row is None:
        raise UnknownAccount(f"no account {account_id!r}")
    plan = parse_plan(json.loads(row.definition))
    return AccountBasics(account_id, plan.currency, ZoneInfo(row.timezone), row.payment_method)


def add_to_credit_balance(connection: Connection, account_id: str, amount: int) -> None:
    connection.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(credit_balance=accounts.c.credit_balance + amount)
    )
