"""What recording reported events reads of the accounts they concern, for a batch of any size
in a few queries whatever the accounts' histories.

The statements are built once and run by the driver (:mod:`seatwise.store.driver`): a small
group of single events (the API's group commit) costs a few of them, and building a statement
with three correlated subqueries each time cost more than running it, and running it through
SQLAlchemy four times what the database does. The lists they take are one parameter each:
the accounts (``driver.one_of``), the (account, member) pairs of a batch
(``bulk.select_pairs``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, literal_column, select

from seatwise.core.plans import parse_plan
from seatwise.core.seat_timeline import MEMBER_ACTIONS, MemberChange
from seatwise.store import bulk, driver
from seatwise.store.repository.accounts import lock_accounts_later, read_instant
from seatwise.store.repository.scope import in_scope
from seatwise.store.tables import (
    accounts,
    credit_entries,
    invoices,
    members,
    plans,
    timeline_events,
)

CHANGES_WITH_MEMBERS = 64  # members named up to which their changes are asked with them


@dataclass(frozen=True)
class IngestView:
    """What recording member events needs of an account, whatever its history's length: when
    it subscribed and ended, whether it has credits, the members named, their changes, the
    latest invoice's instant and the next event's number; ``news_noted``: its next due instant
    is already unknown (news since its last billing run), nothing to write to say so."""

    id: str
    subscribed_at: datetime
    ended_at: datetime | None
    status: str
    credits: bool
    known: set[str]
    histories: dict[str, list[MemberChange]]
    last_issue: datetime | None
    next_seq: int
    news_noted: bool


@functools.cache
def _accounts_query(form: str) -> Select[Any]:
    last_seq = (
        select(func.max(timeline_events.c.seq))
        .where(timeline_events.c.account_id == accounts.c.id)
        .scalar_subquery()
    )
    last_issue = (
        select(func.max(invoices.c.issued_at))
        .where(invoices.c.account_id == accounts.c.id, invoices.c.status != "draft")
        .scalar_subquery()
    )
    ledger = select(credit_entries.c.id).where(credit_entries.c.account_id == accounts.c.id)
    return (
        select(
            accounts.c.id,
            accounts.c.subscribed_at,
            accounts.c.ended_at,
            accounts.c.status,
            accounts.c.next_due_at,
            plans.c.definition,
            last_seq.label("last_seq"),
            last_issue.label("last_issue"),
            ledger.exists().label("ledger"),
        )
        .join(plans, plans.c.id == accounts.c.plan_id)
        .where(driver.one_of(form, accounts.c.id, "ids"))
    )


# A member's changes (not credits, cancellations, suspensions), written into the statement's
# text: it is run by the driver, whose statements take no list rendered per run.
_MEMBER_ACTIONS: list[ColumnElement[str]] = [
    literal_column(f"'{action}'") for action in sorted(MEMBER_ACTIONS)
]
assert all(action.isalpha() for action in MEMBER_ACTIONS)


@functools.cache
def _members_query(form: str) -> Select[Any]:
    columns = (members.c.account_id, members.c.member_id)
    return bulk.select_pairs(form, columns, columns)


@functools.cache
def _changes_query(form: str) -> Select[Any]:
    return bulk.select_pairs(
        form,
        (
            timeline_events.c.account_id,
            timeline_events.c.at,
            timeline_events.c.seq,
            timeline_events.c.member_id,
            timeline_events.c.action,
        ),
        (timeline_events.c.account_id, timeline_events.c.member_id),
        timeline_events.c.action.in_(_MEMBER_ACTIONS),
        order_by=("at", "seq"),
    )


def ingest_views(
    connection: Connection, named: dict[str, list[str]], lock: bool = True
) -> dict[str, IngestView]:
    """The accounts as :class:`IngestView` sees them, each for its members ``named``: a few
    queries for the whole batch, bounded by the members named, not by the histories. Only
    the accounts that exist (in scope) are in the answer.

    ``lock``: on PostgreSQL the accounts are locked first, in id order, by a statement of
    their own — a statement that waits for a lock still answers from the snapshot it began
    with (an account's last seq read with its lock would miss what the writer it waited for
    committed). On SQLite the transaction's writer lock is held already: nothing to take."""
    return ingest_views_later(connection, named, lock)()


def ingest_views_later(
    connection: Connection, named: dict[str, list[str]], lock: bool = True
) -> Callable[[], dict[str, IngestView]]:
    """:func:`ingest_views`, its statements sent now (inside
    :func:`~seatwise.store.driver.together`, with the others sent there: on PostgreSQL the
    lock, the accounts, their members named and these members' changes in one round trip),
    the views when called for. The changes of a few members named (a group of single events:
    up to :data:`CHANGES_WITH_MEMBERS`) are asked for with the members, on PostgreSQL,
    whether they are members yet or not: a round trip saved for a lookup or two. Else, and
    on SQLite, where a statement costs no round trip, only those of the members found are,
    after them (none when every member named is new, as in a batch of new members: a
    thousand lookups saved)."""
    ids = sorted(account_id for account_id in named if in_scope(account_id))
    if not ids:
        return dict
    form = connection.dialect.name
    asked = {(account_id, member) for account_id in ids for member in named[account_id]}
    members_sent: driver.Later = list
    changes_sent: driver.Later | None = None
    with driver.lookups_planned(connection, max(len(ids), len(asked))):
        locked = lock_accounts_later(connection, ids) if lock and form == "postgresql" else None
        accounts_sent = driver.rows_later(connection, _accounts_query(form), {"ids": ids})
        if asked:
            members_sent = bulk.rows_among_later(connection, _members_query, asked)
            if form == "postgresql" and len(asked) <= CHANGES_WITH_MEMBERS:
                changes_sent = bulk.rows_among_later(connection, _changes_query, asked)

    def views() -> dict[str, IngestView]:
        exist = None if locked is None else locked()  # an account made since is not locked
        rows = [row for row in accounts_sent() if exist is None or row.id in exist]
        known: dict[str, set[str]] = {row.id: set() for row in rows}
        histories: dict[str, dict[str, list[MemberChange]]] = {row.id: {} for row in rows}
        for found in members_sent():
            if (found.account_id, found.member_id) in asked and found.account_id in known:
                known[found.account_id].add(found.member_id)
        existing = {(a, member) for a, people in known.items() for member in people}
        if changes_sent is not None:
            changes = changes_sent()
        else:
            with driver.lookups_planned(connection, len(asked)):
                changes = bulk.rows_among(connection, _changes_query, existing)
        for change in changes:
            if (change.account_id, change.member_id) in existing:
                histories[change.account_id].setdefault(change.member_id, []).append(
                    MemberChange(change.at, change.member_id, change.action)
                )
        return {
            row.id: IngestView(
                row.id,
                row.subscribed_at,
                row.ended_at,
                row.status,
                _plan_has_credits(row.definition) or bool(row.ledger),
                known[row.id],
                histories[row.id],
                read_instant(row.last_issue),
                int(row.last_seq or 0) + 1,
                row.next_due_at is None,
            )
            for row in rows
        }

    return views


@functools.lru_cache(maxsize=1024)
def _plan_has_credits(definition: str) -> bool:
    return parse_plan(json.loads(definition)).credits is not None
