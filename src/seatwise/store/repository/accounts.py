"""Plans, accounts, their members and timelines: the queries, over the caller's connection
(nothing here commits)."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)

from seatwise.core.account import Account, Cancel, Terminate, Uncancel
from seatwise.core.billing import TimelineEvent
from seatwise.core.checkpoint import Checkpoint
from seatwise.core.credits import (
    CHECKOUT,
    Assign,
    BuyCredits,
    CreditsPaid,
    Start,
    Unassign,
    credit_action,
)
from seatwise.core.errors import SeatwiseError
from seatwise.core.money import Currency
from seatwise.core.plans import Plan, parse_plan
from seatwise.core.seat_timeline import MEMBER_ACTIONS, Member, MemberChange
from seatwise.store import bulk
from seatwise.store.repository.scope import in_scope, scoped_account
from seatwise.store.tables import (
    accounts,
    billing_checkpoints,
    contacts,
    members,
    payment_methods,
    plans,
    timeline_events,
)
from seatwise.store.types import UTCDateTime


class UnknownAccount(SeatwiseError):
    """No account has this id."""


@dataclass(frozen=True)
class BillingAddress:
    """Where invoices are addressed: printed on them."""

    name: str
    lines: tuple[str, ...] = ()
    country: str | None = None  # ISO 3166-1 alpha-2
    tax_id: str | None = None


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


def save_plan(
    connection: Connection, plan_id: str, definition: dict[str, Any], now: datetime
) -> None:
    parse_plan(definition)  # refuse an invalid plan before storing it
    connection.execute(
        insert(plans).values(
            id=plan_id,
            definition=json.dumps(definition, default=str, sort_keys=True),
            created_at=now,
        )
    )


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


@dataclass(frozen=True)
class PlanRow:
    id: str
    definition: dict[str, Any]
    created_at: datetime


def find_plan(connection: Connection, plan_id: str) -> PlanRow | None:
    row = connection.execute(select(plans).where(plans.c.id == plan_id)).one_or_none()
    return None if row is None else PlanRow(row.id, json.loads(row.definition), row.created_at)


def plan_rows(connection: Connection, after: str | None, limit: int) -> list[PlanRow]:
    """Plans by id, after ``after`` (keyset pagination)."""
    query = select(plans).order_by(plans.c.id).limit(limit)
    if after is not None:
        query = query.where(plans.c.id > after)
    return [
        PlanRow(r.id, json.loads(r.definition), r.created_at) for r in connection.execute(query)
    ]


def plan_users(connection: Connection, plan_id: str) -> int:
    """How many accounts are on the plan."""
    return int(
        connection.execute(
            select(func.count()).select_from(accounts).where(accounts.c.plan_id == plan_id)
        ).scalar_one()
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
        RecordedEvent(row.seq, _event(row), row.recorded_at) for row in connection.execute(query)
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


def _event(row: Any) -> TimelineEvent:
    action = row.action
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


_NEWS = (
    update(accounts)
    .where(accounts.c.id.in_(bindparam("touched", expanding=True)))
    .values(next_due_at=None)
)


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
        row = event_row(event)
        rows.append((account_id, seq, now, *(row[n] for n in EVENT_COLUMNS[3:])))
    bulk.insert_rows(connection, timeline_events, EVENT_COLUMNS, rows)
    touched = sorted({account_id for account_id, _, _ in events} - set(noted))
    if touched:  # news: what is due for them is recomputed by the next billing run
        connection.execute(_NEWS, {"touched": touched})


def add_members_of_accounts(connection: Connection, people: Sequence[tuple[str, Member]]) -> None:
    """New members of any accounts, in one write."""
    bulk.insert_rows(
        connection,
        members,
        ("account_id", "member_id", "manage_billing", "email"),
        [(account_id, m.id, m.manage_billing, m.email) for account_id, m in people],
    )


def read_instant(value: datetime | str | None) -> datetime | None:
    """An instant read through an expression without a column type: aware, in UTC."""
    if isinstance(value, str):  # SQLite gives the stored text
        value = datetime.fromisoformat(value)
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def check_in_scope(account_id: str) -> None:
    """:class:`UnknownAccount` for an account the current scope does not know."""
    if not in_scope(account_id):
        raise UnknownAccount(f"no account {account_id!r}")


def check_account(connection: Connection, account_id: str) -> None:
    """:class:`UnknownAccount` unless the account exists in the current scope (one light
    query: nothing is loaded)."""
    check_in_scope(account_id)
    found = connection.execute(select(accounts.c.id).where(accounts.c.id == account_id))
    if found.one_or_none() is None:
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


def lock_accounts(connection: Connection, account_ids: Sequence[str]) -> set[str]:
    """Lock several accounts at once, in id order (the order every lock is taken in);
    which of them exist (in scope)."""
    if not account_ids:
        return set()
    query = _lock_query(connection.dialect.name)
    found = connection.scalars(query, {"ids": list(account_ids)})
    return {account_id for account_id in found if in_scope(account_id)}


@functools.cache
def _lock_query(dialect: str) -> Select[Any]:
    """Built once (recording a few events takes it each time)."""
    query = select(accounts.c.id).where(accounts.c.id.in_(bindparam("ids", expanding=True)))
    if dialect == "postgresql":
        query = query.order_by(accounts.c.id).with_for_update()
    return query


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
    emails: dict[str, list[str]] = {row.id: [] for row in rows}
    for contact in connection.execute(
        select(contacts.c.account_id, contacts.c.email)
        .where(contacts.c.account_id.in_(list(emails)))
        .order_by(contacts.c.account_id, contacts.c.email)
    ):
        emails[contact.account_id].append(contact.email)
    people: dict[str, list[Member]] = {row.id: [] for row in rows}
    for m in connection.execute(
        select(members)
        .where(members.c.account_id.in_(list(people)))
        .order_by(members.c.account_id, members.c.member_id)
    ):
        people[m.account_id].append(Member(m.member_id, m.manage_billing, m.email))
    since = {a: c for a, c in (checkpoints or {}).items() if a in emails}
    events, last_seq, late = _timelines(connection, list(emails), since)
    if late:
        whole, whole_seq, _ = _timelines(connection, sorted(late), {})
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


ALWAYS_READ = ("buy_credits", "terminate")  # read with a timeline read from a checkpoint on


def _timelines(
    connection: Connection, account_ids: list[str], since: Mapping[str, Checkpoint]
) -> tuple[dict[str, list[TimelineEvent]], dict[str, int], set[str]]:
    """The accounts' timelines in time order (from their checkpoints on, for those in
    ``since``), the number of each one's last event, and the accounts with a late event."""
    events: dict[str, list[TimelineEvent]] = {account_id: [] for account_id in account_ids}
    last_seq = {a: since[a].last_seq if a in since else 0 for a in account_ids}
    late: set[str] = set()
    table = timeline_events
    query = select(table).where(table.c.account_id.in_(account_ids))
    if since:
        cp = billing_checkpoints
        joined = and_(cp.c.account_id == table.c.account_id, cp.c.account_id.in_(list(since)))
        query = query.outerjoin(cp, joined).where(
            or_(
                cp.c.account_id.is_(None),
                table.c.at > cp.c.at,
                table.c.seq > cp.c.last_seq,
                table.c.action.in_(ALWAYS_READ),
            )
        )
    # effective time first: an event reported late sorts where it happened
    query = query.order_by(table.c.account_id, table.c.at, table.c.seq)
    for row in connection.execute(query):
        account_id = row.account_id
        events[account_id].append(_event(row))
        last_seq[account_id] = max(last_seq[account_id], row.seq)
        checkpoint = since.get(account_id)
        if checkpoint is not None and row.seq > checkpoint.last_seq and row.at <= checkpoint.at:
            late.add(account_id)  # recorded since the checkpoint, dated before it
    return events, last_seq, late


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


def add_to_credit_balance(connection: Connection, account_id: str, amount: int) -> None:
    connection.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(credit_balance=accounts.c.credit_balance + amount)
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
