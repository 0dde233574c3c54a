"""What a billing run reads of its accounts' timelines: each one's events in time order, from
its checkpoint on (:mod:`seatwise.core.checkpoint`) where it has one, read by the few columns
nearly every event needs. Over the caller's connection; nothing here commits."""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select
from sqlalchemy.engine import Dialect

from seatwise.core.billing import TimelineEvent
from seatwise.core.checkpoint import Checkpoint
from seatwise.core.seat_timeline import MEMBER_ACTIONS, TRANSITIONS, MemberChange
from seatwise.store import bulk
from seatwise.store.repository.timelines import EVENT_COLUMNS, event_of_row
from seatwise.store.tables import billing_checkpoints, timeline_events

ALWAYS_READ = ("buy_credits", "terminate")  # read with a timeline read from a checkpoint on
# every column of an event but when it was recorded, which billing does not read (an instant
# fewer to parse per event: SQLite's instants are parsed from text); read by position
_TIMELINE_COLUMNS = [name for name in EVENT_COLUMNS if name != "recorded_at"]
assert _TIMELINE_COLUMNS[:5] == ["account_id", "seq", "at", "action", "member_id"]
# what a member change is, nearly every event: the rest are read apart, for the few others
_CHANGE_COLUMNS = _TIMELINE_COLUMNS[:5]


def read_timelines(
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
