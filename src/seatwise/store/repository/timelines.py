"""Accounts' timelines: their events in the order recorded, appended one account or many at
once (which makes those accounts due again: news for the next billing run), and their new
members. Over the caller's connection; nothing here commits."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Update,
    func,
    insert,
    select,
    update,
)

from seatwise.core.account import Cancel, Terminate, Uncancel
from seatwise.core.billing import TimelineEvent
from seatwise.core.credits import (
    CHECKOUT,
    Assign,
    BuyCredits,
    CreditsPaid,
    Start,
    Unassign,
    credit_action,
)
from seatwise.core.seat_timeline import TRANSITIONS, Member, MemberChange
from seatwise.store import bulk, driver
from seatwise.store.repository.scope import check_in_scope
from seatwise.store.tables import (
    accounts,
    members,
    timeline_events,
)


@dataclass(frozen=True)
class RecordedEvent:
    """An event of a timeline as recorded: its place (``seq``), when it was recorded."""

    seq: int
    event: TimelineEvent
    recorded_at: datetime


def timeline_page(
    connection: Connection, account_id: str, after: int | None, limit: int
) -> list[RecordedEvent]:
    """An account's events in the order they were recorded, after ``seq`` ``after``."""
    check_in_scope(account_id)
    query = (
        select(timeline_events)
        .where(timeline_events.c.account_id == account_id)
        .order_by(timeline_events.c.seq)
        .limit(limit)
    )
    if after is not None:
        query = query.where(timeline_events.c.seq > after)
    return [
        RecordedEvent(row.seq, event_of_row(row), row.recorded_at)
        for row in connection.execute(query)
    ]


def next_event_seq(connection: Connection, account_id: str) -> int:
    """The recording number the account's next event gets."""
    last = connection.execute(
        select(func.max(timeline_events.c.seq)).where(timeline_events.c.account_id == account_id)
    ).scalar()
    return int(last or 0) + 1


def append_events(
    connection: Connection,
    account_id: str,
    events: Sequence[TimelineEvent],
    now: datetime,
    first_seq: int,
) -> None:
    append_events_of_accounts(
        connection,
        [(account_id, first_seq + index, event) for index, event in enumerate(events)],
        now,
    )


EVENT_COLUMNS = (
    "account_id",
    "seq",
    "recorded_at",
    "at",
    "action",
    "member_id",
    "content",
    "credits",
    "ref_at",
    "collection",
)


def event_row(event: TimelineEvent) -> dict[str, Any]:
    """The columns of one event: ``action`` says which of the others it uses (``member_id``,
    ``content``, ``credits``, ``ref_at``, ``collection``)."""
    row: dict[str, Any] = {
        "at": event.at,
        "member_id": None,
        "content": None,
        "credits": None,
        "ref_at": None,
        "collection": None,
    }
    if isinstance(event, MemberChange):
        return {**row, "action": event.action, "member_id": event.member}
    if isinstance(event, Cancel):
        return {**row, "action": "cancel"}
    if isinstance(event, Uncancel):
        return {**row, "action": "uncancel"}
    if isinstance(event, Terminate):
        return {**row, "action": "terminate", "content": event.action}
    row["action"] = credit_action(event)
    if isinstance(event, BuyCredits):
        row["credits"] = event.credits
        row["collection"] = None if event.collection == CHECKOUT else event.collection
    elif isinstance(event, CreditsPaid):
        row["ref_at"] = event.purchased_at
    else:
        row.update(member_id=event.member, content=event.content)
        if isinstance(event, Assign):
            row["credits"] = event.credits
    return row


def event_of_row(row: Any) -> TimelineEvent:
    """The event a stored row holds (what :func:`event_row` wrote)."""
    action = row.action
    if action in TRANSITIONS:  # a member change, nearly every event: asked first
        return MemberChange(row.at, row.member_id, action)
    if action == "cancel":
        return Cancel(row.at)
    if action == "uncancel":
        return Uncancel(row.at)
    if action == "terminate":
        return Terminate(row.at, row.content)
    if action == "buy_credits":
        return BuyCredits(row.at, row.credits, row.collection or CHECKOUT)
    if action == "credits_paid":
        return CreditsPaid(row.at, row.ref_at)
    if action == "assign":
        return Assign(row.at, row.member_id, row.content, row.credits)
    if action == "start":
        return Start(row.at, row.member_id, row.content)
    if action == "unassign":
        return Unassign(row.at, row.member_id, row.content)
    return MemberChange(row.at, row.member_id, action)


@functools.cache
def _news(form: str) -> Update:
    return (
        update(accounts)
        .where(driver.one_of(form, accounts.c.id, "touched"))
        .values(next_due_at=None)
    )


_NONE = (None, None, None, None)  # a member change's content, credits, ref_at, collection
assert EVENT_COLUMNS[3:6] == ("at", "action", "member_id") and len(EVENT_COLUMNS) == 6 + len(_NONE)


def append_events_of_accounts(
    connection: Connection,
    events: Sequence[tuple[str, int, TimelineEvent]],
    now: datetime,
    noted: Collection[str] = (),
) -> None:
    """Append (account, seq, event) triples, of any accounts, in one write. ``noted``: accounts
    (locked by the caller) whose next due instant is already unknown: not written again."""
    rows = []
    for account_id, seq, event in events:
        if type(event) is MemberChange:  # nearly every event reported: its row made directly
            rows.append((account_id, seq, now, event.at, event.action, event.member, *_NONE))
        else:
            row = event_row(event)
            rows.append((account_id, seq, now, *(row[n] for n in EVENT_COLUMNS[3:])))
    bulk.insert_rows(connection, timeline_events, EVENT_COLUMNS, rows)
    touched = sorted({account_id for account_id, _, _ in events} - set(noted))
    if touched:  # news: what is due for them is recomputed by the next billing run
        driver.execute(connection, _news(connection.dialect.name), {"touched": touched})


def add_members_of_accounts(connection: Connection, people: Sequence[tuple[str, Member]]) -> None:
    """New members of any accounts, in one write."""
    bulk.insert_rows(
        connection,
        members,
        ("account_id", "member_id", "manage_billing", "email"),
        [(account_id, m.id, m.manage_billing, m.email) for account_id, m in people],
    )


def add_member(connection: Connection, account_id: str, member: Member) -> None:
    connection.execute(
        insert(members).values(
            account_id=account_id,
            member_id=member.id,
            manage_billing=member.manage_billing,
            email=member.email,
        )
    )
