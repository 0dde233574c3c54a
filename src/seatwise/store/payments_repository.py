"""The store's queries for getting paid: payment methods, charge attempts, reminders, what
credit notes took off invoices, and the end of an account (its purge). What is sent (the
outbox, its deliveries, webhook endpoints) is :mod:`seatwise.store.outbox_repository`'s.
Nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update

from seatwise.core.dunning import Attempt, MethodChange
from seatwise.store import bulk
from seatwise.store.tables import (
    accounts,
    billing_changes,
    contacts,
    credit_notes,
    members,
    outbox,
    payment_attempts,
    payment_methods,
    purges,
    reminders,
)

# -- payment methods ------------------------------------------------------------------------------


def methods(connection: Connection, account_id: str) -> list[MethodChange]:
    """The account's payment methods, in the order they took effect."""
    return methods_of(connection, [account_id])[account_id]


def methods_of(connection: Connection, account_ids: Sequence[str]) -> dict[str, list[MethodChange]]:
    """:func:`methods` of several accounts, in one query."""
    found: dict[str, list[MethodChange]] = {account_id: [] for account_id in account_ids}
    query = select(
        payment_methods.c.account_id,
        payment_methods.c.at,
        payment_methods.c.method,
        payment_methods.c.id,
    )
    column, form = payment_methods.c.account_id, connection.dialect.name
    for row in connection.execute(
        bulk.of_each(form, query, column, ("at", "id")), {"account_ids": list(found)}
    ):
        found[row.account_id].append(MethodChange(row.at, row.method))
    return found


def add_method(
    connection: Connection, account_id: str, at: datetime, method: str, now: datetime
) -> None:
    connection.execute(
        insert(payment_methods).values(account_id=account_id, at=at, method=method, recorded_at=now)
    )
    connection.execute(  # retries follow the new method: what is due is recomputed
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(payment_method=method, next_due_at=None)
    )


# -- attempts and reminders -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredAttempt:
    attempt: Attempt
    number: int  # 1, 2, … for its invoice
    amount: int
    reference: str
    receipt: str | None


def _stored_attempt(row: Any) -> StoredAttempt:
    return StoredAttempt(
        Attempt(row.invoice_number, row.at, row.method, row.succeeded, row.reason),
        row.attempt,
        row.amount,
        row.reference,
        row.receipt,
    )


def attempts(connection: Connection, account_id: str) -> list[StoredAttempt]:
    """Every charge made for the account, in the order they were made."""
    return attempts_of(connection, [account_id])[account_id]


def attempts_of(
    connection: Connection, account_ids: Sequence[str]
) -> dict[str, list[StoredAttempt]]:
    """:func:`attempts` of several accounts, in one query."""
    found: dict[str, list[StoredAttempt]] = {account_id: [] for account_id in account_ids}
    column, form = payment_attempts.c.account_id, connection.dialect.name
    for row in connection.execute(
        bulk.of_each(form, select(payment_attempts), column, ("at", "id")),
        {"account_ids": list(found)},
    ):
        found[row.account_id].append(_stored_attempt(row))
    return found


def attempts_of_invoice(connection: Connection, number: str) -> list[StoredAttempt]:
    return [
        _stored_attempt(row)
        for row in connection.execute(
            select(payment_attempts)
            .where(payment_attempts.c.invoice_number == number)
            .order_by(payment_attempts.c.attempt)
        )
    ]


ATTEMPT_COLUMNS = (
    "account_id",
    "invoice_number",
    "attempt",
    "at",
    "method",
    "amount",
    "succeeded",
    "reason",
    "reference",
    "receipt",
    "recorded_at",
)
SUCCEEDED = ATTEMPT_COLUMNS.index("succeeded")  # positions in an attempt row
RECEIPT = ATTEMPT_COLUMNS.index("receipt")
REMINDER_COLUMNS = ("invoice_number", "days_before", "account_id", "at")


def insert_attempts(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows in :data:`ATTEMPT_COLUMNS` order."""
    bulk.insert_rows(connection, payment_attempts, ATTEMPT_COLUMNS, rows)


def insert_reminders(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows in :data:`REMINDER_COLUMNS` order."""
    bulk.insert_rows(connection, reminders, REMINDER_COLUMNS, rows)


def reminded(connection: Connection, account_id: str) -> set[tuple[str, int]]:
    """The reminders sent for the account's invoices: (number, days before)."""
    return reminded_of(connection, [account_id])[account_id]


def reminded_of(
    connection: Connection, account_ids: Sequence[str]
) -> dict[str, set[tuple[str, int]]]:
    """:func:`reminded` of several accounts, in one query."""
    found: dict[str, set[tuple[str, int]]] = {account_id: set() for account_id in account_ids}
    query = select(reminders.c.account_id, reminders.c.invoice_number, reminders.c.days_before)
    column, form = reminders.c.account_id, connection.dialect.name
    for row in connection.execute(bulk.of_each(form, query, column), {"account_ids": list(found)}):
        found[row.account_id].add((row.invoice_number, row.days_before))
    return found


def credited(connection: Connection, invoice_ids: Sequence[int]) -> dict[int, int]:
    """Credit notes issued on each of these invoices, summed."""
    if not invoice_ids:
        return {}
    return {
        row.invoice_id: int(row.total)
        for row in connection.execute(
            select(credit_notes.c.invoice_id, func.sum(credit_notes.c.amount).label("total"))
            .where(credit_notes.c.invoice_id.in_(list(invoice_ids)))
            .group_by(credit_notes.c.invoice_id)
        )
    }


# -- the end of an account ------------------------------------------------------------------------


def purge_account(
    connection: Connection, account_id: str, at: datetime, ended_at: datetime, now: datetime
) -> str:
    """Remove the account's personal data (billing contacts, members' email addresses, the
    recipients of its queued messages) and record the purge; invoices and the timeline's
    pseudonymous member ids stay, as accounting law requires. Returns what was removed."""
    removed_contacts = connection.execute(
        contacts.delete().where(contacts.c.account_id == account_id)
    ).rowcount
    removed_emails = connection.execute(
        update(members)
        .where(members.c.account_id == account_id, members.c.email.is_not(None))
        .values(email=None)
    ).rowcount
    for row in connection.execute(
        select(outbox.c.id, outbox.c.payload).where(
            outbox.c.account_id == account_id, outbox.c.channel == "email"
        )
    ).all():  # an email's addresses and contents go; what it was about stays
        details = orjson.loads(row.payload).get("details", {})
        connection.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(
                recipients="[]", payload=orjson.dumps({"details": details, "facts": {}}).decode()
            )
        )
    connection.execute(  # the history of its billing contacts holds addresses too
        update(billing_changes)
        .where(billing_changes.c.account_id == account_id, billing_changes.c.field == "contacts")
        .values(old=None, new=None)
    )
    removed = (
        f"{removed_contacts} billing contact(s), {removed_emails} member email address(es), "
        "the addresses and contents of its emails, the history of its billing contacts"
    )
    connection.execute(
        insert(purges).values(
            account_id=account_id, at=at, ended_at=ended_at, removed=removed, recorded_at=now
        )
    )
    connection.execute(update(accounts).where(accounts.c.id == account_id).values(purged_at=at))
    return removed


@dataclass(frozen=True)
class AccountEnd:
    status: str
    ended_at: datetime | None
    purged_at: datetime | None


def account_end(connection: Connection, account_id: str) -> AccountEnd:
    row = connection.execute(
        select(accounts.c.status, accounts.c.ended_at, accounts.c.purged_at).where(
            accounts.c.id == account_id
        )
    ).one()
    return AccountEnd(row.status, row.ended_at, row.purged_at)
