"""What billing runs read and write of accounts: which are due and claimed by a run, their
billing inputs (from their checkpoints on), and how a run left them. Over the caller's
connection; nothing here commits."""

from __future__ import annotations

import functools
import json
from collections import namedtuple
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
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
    or_,
    select,
    update,
)
from sqlalchemy.engine import Dialect

from seatwise.core.account import Account
from seatwise.core.billing import TimelineEvent
from seatwise.core.checkpoint import Checkpoint
from seatwise.core.plans import Plan, parse_plan
from seatwise.core.seat_timeline import MEMBER_ACTIONS, TRANSITIONS, Member, MemberChange
from seatwise.store import bulk
from seatwise.store.repository.accounts import BillingAddress, read_instant
from seatwise.store.repository.scope import UnknownAccount, check_in_scope, in_scope, scoped_account
from seatwise.store.repository.timelines import EVENT_COLUMNS, event_of_row
from seatwise.store.tables import (
    accounts,
    billing_checkpoints,
    contacts,
    members,
    plans,
    timeline_events,
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
# every column of an event but when it was recorded, which billing does not read (an instant
# fewer to parse per event: SQLite's instants are parsed from text); read by position
_TIMELINE_COLUMNS = [name for name in EVENT_COLUMNS if name != "recorded_at"]
assert _TIMELINE_COLUMNS[:5] == ["account_id", "seq", "at", "action", "member_id"]
# what a member change is, nearly every event: the rest are read apart, for the few others
_CHANGE_COLUMNS = _TIMELINE_COLUMNS[:5]


def _timelines(
    connection: Connection, account_ids: list[str], since: Mapping[str, Checkpoint]
) -> tuple[dict[str, list[TimelineEvent]], dict[str, int], set[str]]:
    """The accounts' timelines in time order (from their checkpoints on, for those in
    ``since``), the number of each one's last event, and the accounts with a late event.

    Every event is read by the five columns of a member change, and the few others (credits,
    purchases, dunning's final action) whole, by a second query for their accounts only: on
    SQLite each column fetched costs about 850 instructions (Python's sqlite3 releases and
    takes its lock around each), and four more columns, nearly always empty, were a tenth of
    a billing run's reads. On SQLite an instant's text is parsed once a read (members added at
    one instant — a subscription's start, an import — share it); PostgreSQL's driver gives
    instants already made, which would cost more to look up than to take."""
    events: dict[str, list[TimelineEvent]] = {account_id: [] for account_id in account_ids}
    last_seq = {a: since[a].last_seq if a in since else 0 for a in account_ids}
    late: set[str] = set()
    dialect = connection.dialect
    read_at = bulk.reader(timeline_events.c.at, dialect)  # the driver's rows, instants read here
    texts = dialect.name == "sqlite"  # instants as text, each parsed once (below)
    parsed: dict[str, datetime] = {}
    others: dict[str, list[tuple[int, int]]] = {}  # each account's other events: place, seq
    current: str | None = None  # the account of the rows being read (they come together)
    before_any: list[TimelineEvent] = []
    timeline, checkpoint = before_any, None  # the first row's account's, from its row on
    query = _timeline_query(_CHANGE_COLUMNS, since, dialect)
    for row in bulk.driver_rows(connection, query, {"account_ids": account_ids}):
        # by position (the columns of _CHANGE_COLUMNS)
        account_id, seq, value, action = row[0], row[1], row[2], row[3]
        if texts:
            at = parsed.get(value)
            if at is None:
                at = parsed[value] = read_at(value)
        else:
            at = read_at(value)
        if account_id != current:
            current, timeline = account_id, events[account_id]
            checkpoint = since.get(account_id)
        if action in TRANSITIONS:  # a member change, nearly every event
            timeline.append(MemberChange(at, row[4], action))
        else:  # read whole below; its place kept by a member change of its instant
            others.setdefault(account_id, []).append((len(timeline), seq))
            timeline.append(MemberChange(at, "", action))
        if seq > last_seq[account_id]:
            last_seq[account_id] = seq
        if checkpoint is not None and seq > checkpoint.last_seq and at <= checkpoint.at:
            late.add(account_id)  # recorded since the checkpoint, dated before it
    if others:
        _read_others(connection, others, since, events)
    for timeline in events.values():  # in time order, those recorded at one instant as recorded
        if any(later.at < earlier.at for earlier, later in pairwise(timeline)):
            timeline.sort(key=_when)  # a stable sort: the order recorded within an instant
    return events, last_seq, late


def _read_others(
    connection: Connection,
    others: Mapping[str, list[tuple[int, int]]],
    since: Mapping[str, Checkpoint],
    events: dict[str, list[TimelineEvent]],
) -> None:
    """The events of ``others`` that are not member changes, read whole (every column of
    :data:`_TIMELINE_COLUMNS`), put in their places in the accounts' ``events``. A timeline
    is only ever appended to (no event is changed or deleted), so every event the first read
    saw is found again, even by a second statement that sees a later snapshot; one recorded
    meanwhile is read here too and left out."""
    dialect = connection.dialect
    query = _timeline_query(_TIMELINE_COLUMNS, since, dialect, members=False)
    found: dict[tuple[str, int], TimelineEvent] = {}
    for row in bulk.driver_rows(connection, query, {"account_ids": list(others)}):
        found[row[0], row[1]] = event_of_row(_event_row(row, dialect))
    for account_id, places in others.items():
        timeline = events[account_id]
        for place, seq in places:
            timeline[place] = found[account_id, seq]


def _timeline_query(
    names: Sequence[str], since: Mapping[str, Checkpoint], dialect: Dialect, members: bool = True
) -> Select[Any]:
    """The events of some accounts (a parameter, ``account_ids``): the columns ``names``,
    from their checkpoints on for those in ``since`` (and the credit purchases and final
    action whenever dated), in the order recorded (the order of the account's (account_id,
    seq) key: no sort); without ``members``, only the events that are not member changes."""
    table = timeline_events
    query = select(*[table.c[name] for name in names])
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
    if not members:
        query = query.where(table.c.action.not_in(MEMBER_ACTIONS))
    return bulk.of_each(dialect.name, query, table.c.account_id, ("account_id", "seq"))


def _when(event: TimelineEvent) -> datetime:
    return event.at


_EventRow = namedtuple("_EventRow", _TIMELINE_COLUMNS)  # type: ignore[misc]


def _event_row(row: Sequence[Any], dialect: Dialect) -> Any:
    """An event's row as the driver gave it, its values read as SQLAlchemy reads them, by
    name (another event than a member change: credits' assignments and starts, purchases)."""
    return _EventRow._make(
        read(value) for read, value in zip(_timeline_readers(dialect), row, strict=True)
    )


@functools.lru_cache(maxsize=8)
def _timeline_readers(dialect: Dialect) -> tuple[Callable[[Any], Any], ...]:
    return tuple(bulk.reader(timeline_events.c[name], dialect) for name in _TIMELINE_COLUMNS)


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
