"""The store's queries for the billing page: one-time links, page sessions ending, the
server's signing secret, and the history of an account's billing details. Nothing here
commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from seatwise.store.repository.scope import in_scope
from seatwise.store.tables import account_sessions, billing_changes, billing_links, settings

# -- one-time links -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredLink:
    id: int
    account_id: str
    member_id: str
    expires_at: datetime
    used_at: datetime | None


def add_link(
    connection: Connection,
    token_hash: str,
    account_id: str,
    member_id: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    connection.execute(
        insert(billing_links).values(
            token_hash=token_hash,
            account_id=account_id,
            member_id=member_id,
            created_at=now,
            expires_at=expires_at,
        )
    )


def link_by_hash(connection: Connection, token_hash: str) -> StoredLink | None:
    row = connection.execute(
        select(billing_links).where(billing_links.c.token_hash == token_hash)
    ).one_or_none()
    if row is None:
        return None
    return StoredLink(row.id, row.account_id, row.member_id, row.expires_at, row.used_at)


def use_link(connection: Connection, link_id: int, now: datetime) -> bool:
    """Mark the link used; False if another request used it first (a link opens once)."""
    return bool(
        connection.execute(
            update(billing_links)
            .where(billing_links.c.id == link_id, billing_links.c.used_at.is_(None))
            .values(used_at=now)
        ).rowcount
    )


# -- page sessions --------------------------------------------------------------------------------


def end_session(connection: Connection, token_hash: str, now: datetime) -> None:
    connection.execute(
        update(account_sessions)
        .where(account_sessions.c.token_hash == token_hash, account_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )


# -- the server's secret --------------------------------------------------------------------------


def setting(connection: Connection, key: str) -> str | None:
    value: str | None = connection.execute(
        select(settings.c.value).where(settings.c.key == key)
    ).scalar_one_or_none()
    return value


def setting_or_add(connection: Connection, key: str, value: str) -> str:
    """The stored value of ``key``, storing ``value`` first if there is none (the first of
    two concurrent callers wins; both get its value)."""
    found = setting(connection, key)
    if found is not None:
        return found
    try:
        with connection.begin_nested():
            connection.execute(insert(settings).values(key=key, value=value))
    except IntegrityError:
        pass
    stored = setting(connection, key)
    assert stored is not None
    return stored


# -- billing details' history ---------------------------------------------------------------------


@dataclass(frozen=True)
class BillingChange:
    """``field`` of the account's billing details changed at ``at`` by ``by``, from ``old``
    to ``new`` (JSON values; None: there was none, or it was removed)."""

    at: datetime
    by: str
    field: str
    old: Any
    new: Any


def add_change(
    connection: Connection, account_id: str, at: datetime, by: str, field: str, old: Any, new: Any
) -> None:
    connection.execute(
        insert(billing_changes).values(
            account_id=account_id,
            at=at,
            by=by,
            field=field,
            old=None if old is None else orjson.dumps(old).decode(),
            new=None if new is None else orjson.dumps(new).decode(),
        )
    )


def changes_of(
    connection: Connection, account_id: str, field: str | None = None
) -> list[BillingChange]:
    """The account's changes of billing details, oldest first."""
    if not in_scope(account_id):
        return []
    query = (
        select(billing_changes)
        .where(billing_changes.c.account_id == account_id)
        .order_by(billing_changes.c.id)
    )
    if field is not None:
        query = query.where(billing_changes.c.field == field)
    return [
        BillingChange(
            row.at,
            row.by,
            row.field,
            None if row.old is None else orjson.loads(row.old),
            None if row.new is None else orjson.loads(row.new),
        )
        for row in connection.execute(query)
    ]
