"""Events reported by the vendor's product, one or a batch of up to :data:`MAX_BATCH` for any
accounts, each answered on its own: ``accepted``, ``late`` (dated before an invoice already
issued: settled by an adjustment on the next one) or ``refused`` with the reason.

Each event may carry the vendor's own ``id``: the first time it is recorded and its answer
kept; the same id again (a retry after a lost response, or twice in a batch) is not recorded
again and gets the first answer. A refused event stores nothing, its id neither.

The whole batch is one transaction: accounts are locked in
id order (as billing runs lock them), each account's events are recorded in a savepoint of
their own, so a failure of one account's events refuses them and not the others'.

Member events are checked against each member's history and appended together; credit events
and cancellations go through :func:`~seatwise.engine.recording.record_locked`, which brings
the credit ledger up to date after each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from seatwise.core.billing import TimelineEvent
from seatwise.core.errors import SeatwiseError
from seatwise.core.limits import check_instant, check_text
from seatwise.core.seat_timeline import (
    MEMBER_ACTIONS,
    Member,
    MemberChange,
    SeatTimeline,
    state_after,
)
from seatwise.engine.clock import Clock
from seatwise.engine.recording import (
    EventRefused,
    check_member_details,
    check_moment,
    make_event,
    record_locked,
)
from seatwise.store import access_repository as access
from seatwise.store import bulk, repository
from seatwise.store.database import write_transaction
from seatwise.store.driver import keys_checked_by_index, lookups_planned, together
from seatwise.store.payments_repository import AccountEnd
from seatwise.store.quick_writes import waited_for_a_lock
from seatwise.store.repository import UnknownAccount

MAX_BATCH = 1000
ACCEPTED, LATE, REFUSED = "accepted", "late", "refused"


class EventRequest(NamedTuple):
    """One reported event. ``at`` None: it happens as it is recorded (the instant is read
    under the account's lock). ``email`` and ``manage_billing`` describe a member who first
    appears with it. (A named tuple, as :class:`EventResult`: a batch makes a thousand, and a
    frozen dataclass costs five times as much to make.)"""

    account_id: str
    action: str
    member: str | None = None
    at: datetime | None = None
    content: str | None = None
    credits: int | None = None
    email: str | None = None
    manage_billing: bool = False
    id: str | None = None  # the vendor's own id of the event


class EventResult(NamedTuple):
    status: str  # accepted | late | refused
    reason: str | None = None
    seq: int | None = None  # its place in the account's timeline
    at: datetime | None = None  # in UTC
    replayed: bool = False  # the answer given the first time this id was reported
    no_account: bool = False  # refused: the account does not exist

    def data(self) -> dict[str, Any]:
        """The answer kept for the vendor's id: ``at`` stays an instant until it is written
        (:func:`~seatwise.store.access_repository.remember_event_results` writes it as
        :func:`~seatwise.core.periods.iso` does, in one step)."""
        return {"status": self.status, "reason": self.reason, "seq": self.seq, "at": self.at}

    @staticmethod
    def from_data(data: dict[str, Any]) -> EventResult:
        """The first answer again: from :meth:`data`, or as it was stored (``at`` as text)."""
        at = data["at"]
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        return EventResult(data["status"], data["reason"], data["seq"], at, replayed=True)


def refused(reason: str) -> EventResult:
    return EventResult(REFUSED, reason)


def record_events(
    engine: Engine, requests: Sequence[EventRequest], clock: Clock
) -> list[EventResult]:
    """Record a batch; one result per request, in its order."""
    if len(requests) > MAX_BATCH:
        raise EventRefused(f"events: at most {MAX_BATCH} in one batch, not {len(requests)}")
    results: list[EventResult | None] = [None] * len(requests)
    events: list[TimelineEvent | None] = [None] * len(requests)  # checked on their own
    by_account: dict[str, list[int]] = {}
    for index, request in enumerate(requests):
        checked = _precheck(request)
        if isinstance(checked, str):
            results[index] = refused(checked)
        else:
            events[index] = checked
            by_account.setdefault(request.account_id, []).append(index)
    with write_transaction(engine) as connection:
        named = {
            account_id: [m for i in indexes if (m := requests[i].member) is not None]
            for account_id, indexes in by_account.items()
        }
        reported = {
            (request.account_id, request.id)
            for request in requests
            if request.id is not None and request.account_id in by_account
        }
        # on PostgreSQL: one round trip for the lock and the reads (a group's planned once)
        with together(connection), lookups_planned(connection, len(requests)):
            views_sent = repository.ingest_views_later(connection, named)
            first_sent = access.event_results_later(connection, reported)
        views = views_sent()  # those that exist, locked
        first = first_sent()
        for account_id in [a for a in by_account if a not in views]:
            for index in by_account.pop(account_id):
                results[index] = EventResult(REFUSED, f"no account {account_id!r}", no_account=True)
        writes = _Writes({account_id for account_id, view in views.items() if view.news_noted})
        for account_id in sorted(by_account):
            indexes = by_account[account_id]
            mark = writes.mark()
            savepoint = None
            if views[account_id].credits or any(
                requests[i].action not in MEMBER_ACTIONS for i in indexes
            ):  # the exact path writes as it goes: in a savepoint of the account's own
                writes.flush(connection, clock.now())
                savepoint = connection.begin_nested()
            try:
                answers = _record_account(
                    connection,
                    views[account_id],
                    [(requests[i], events[i]) for i in indexes],
                    first.get(account_id, {}),
                    writes,
                    clock,
                )
                if savepoint is not None:
                    savepoint.commit()
            except (OperationalError, InterfaceError):
                raise
            except Exception as error:  # this account's events only
                if waited_for_a_lock(error):  # the group's: written again where it may wait
                    raise
                if savepoint is not None:
                    savepoint.rollback()
                writes.undo(mark)
                reason = str(error) if isinstance(error, SeatwiseError) else type(error).__name__
                answers = [refused(f"not recorded: {reason}")] * len(indexes)
            for index, answer in zip(indexes, answers, strict=True):
                results[index] = answer
        writes.flush(connection, clock.now())
    return [result or refused("not recorded") for result in results]


class _Writes:
    """What the fast path will write, for all the batch's accounts at once at its end."""

    def __init__(self, noted: set[str]) -> None:
        self.noted = noted  # accounts whose next due instant is already unknown
        self.events: list[tuple[str, int, TimelineEvent]] = []
        self.members: list[tuple[str, Member]] = []
        self.results: list[tuple[str, str, dict[str, Any]]] = []

    def mark(self) -> tuple[int, int, int]:
        return len(self.events), len(self.members), len(self.results)

    def undo(self, mark: tuple[int, int, int]) -> None:
        del self.events[mark[0] :], self.members[mark[1] :], self.results[mark[2] :]

    def flush(self, connection: Connection, now: datetime) -> None:
        counts = len(self.events), len(self.members), len(self.results)
        if not any(counts):  # nothing gathered since the last flush: no statement to send
            return
        # a group of single events: one round trip; the rows' account keys checked by index
        # however few accounts there were when the check was planned (keys_checked_by_index)
        with bulk.few_writes(connection, *counts), keys_checked_by_index(connection):
            repository.append_events_of_accounts(connection, self.events, now, self.noted)
            repository.add_members_of_accounts(connection, self.members)
            access.remember_event_results(connection, self.results, now)
        self.noted.update(account_id for account_id, _, _ in self.events)
        self.events.clear()
        self.members.clear()
        self.results.clear()


def _precheck(request: EventRequest) -> TimelineEvent | str:
    """What is wrong with a request on its own, before any account is looked at; else its
    event (of a request without an instant, it happens as it is recorded: the event is
    dated :data:`_EPOCH` until then, :func:`_dated`)."""
    try:
        if request.id is not None:
            check_text(request.id, "id", 255)
        at = _EPOCH if request.at is None else check_instant(request.at, "at")  # in UTC
        if request.member is not None and (request.email or request.manage_billing):
            check_member_details(Member(request.member, request.manage_billing, request.email))
        event = make_event(request.action, at, request.member, request.content, request.credits)
    except SeatwiseError as error:
        return str(error)
    return event


def _dated(event: TimelineEvent, at: datetime) -> TimelineEvent:
    """The checked event, happening at ``at``."""
    if type(event) is MemberChange:  # nearly every event: made directly (replace is slower)
        return MemberChange(at, event.member, event.action)
    return replace(event, at=at)


_EPOCH = datetime.fromisoformat("2000-01-01T00:00:00+00:00")


class _Members:
    """The changes of the members named, in time order, to check one more where it falls: a
    change after a member's latest is checked against their timeline as it stands; one before
    it, by replaying their changes with it in its place."""

    def __init__(self, histories: dict[str, list[MemberChange]]) -> None:
        self.changes = histories
        self.timelines: dict[str, SeatTimeline] = {}

    def check_and_add(self, change: MemberChange) -> None:
        history = self.changes.get(change.member, [])
        try:
            if not history:  # a new member (most of a growing product's events): their first
                state_after(None, change)  # change is all there is to check
                self.changes[change.member] = [change]
            elif history[-1].at <= change.at:  # after the member's latest change
                timeline = self.timelines.get(change.member)
                if timeline is None:
                    timeline = self.timelines[change.member] = SeatTimeline(history)
                timeline.apply(change)  # refused: the timeline is unchanged
                history.append(change)
            else:
                position = sum(1 for e in history if e.at <= change.at)
                candidate = [*history[:position], change, *history[position:]]
                self.timelines[change.member] = SeatTimeline(candidate)
                self.changes[change.member] = candidate
        except SeatwiseError as error:
            raise EventRefused(str(error)) from None


def _record_account(
    connection: Connection,
    view: repository.IngestView,
    requests: list[tuple[EventRequest, TimelineEvent | None]],
    first: dict[str, dict[str, Any]],
    writes: _Writes,
    clock: Clock,
) -> list[EventResult]:
    """One account's events, in order: member events of an account without credits are
    checked against the named members' histories and written with the batch's; the others
    (credits, cancellations, members of an account with credits) one at a time, exactly."""
    account_id = view.id
    end = AccountEnd(view.status, view.ended_at, None)
    members = _Members(view.histories)
    known, seq = view.known, view.next_seq
    results: list[EventResult] = []
    for request, checked in requests:
        if request.id is not None and request.id in first:
            results.append(EventResult.from_data(first[request.id]))
            continue
        now = clock.now()
        try:
            assert checked is not None  # what _precheck refused is not asked for
            # at its own instant (in UTC), or now
            event = checked if request.at is not None else _dated(checked, now)
            at = event.at
            if type(event) is MemberChange and not view.credits:
                check_moment(account_id, view.subscribed_at, end, at, now)
                members.check_and_add(event)
                if event.member not in known:
                    new = Member(event.member, request.manage_billing, request.email)
                    writes.members.append((account_id, new))
                    known.add(event.member)
                writes.events.append((account_id, seq, event))
                result = EventResult(ACCEPTED, None, seq, at)
                seq += 1
            else:  # the slow, exact path: the ledger is replayed after it
                writes.flush(connection, now)
                new = None
                if request.member is not None:
                    new = Member(request.member, request.manage_billing, request.email)
                with connection.begin_nested():  # a refusal undoes what it began to write
                    recorded = record_locked(connection, account_id, event, now, new)
                result = EventResult(ACCEPTED, seq=recorded.seq, at=at)
                named = [r.member for r, _ in requests if r.member is not None]
                views_now = repository.ingest_views(connection, {account_id: named}, lock=False)
                view = views_now[account_id]
                members, known, seq = _Members(view.histories), view.known, view.next_seq
            if view.last_issue is not None and at <= view.last_issue:
                result = result._replace(status=LATE)
        except SeatwiseError as error:
            if isinstance(error, UnknownAccount):
                raise
            result = refused(str(error))
        results.append(result)
        if request.id is not None and result.status != REFUSED:  # a refusal stores nothing
            first[request.id] = data = result.data()
            writes.results.append((account_id, request.id, data))
    return results
