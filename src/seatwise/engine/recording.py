"""Recording what happens in an account: member changes, cancellation, credits (SPEC 4, 7).

The timeline is the source of truth and is only ever appended to. An event is checked against
everything already recorded before it is stored, so a stored timeline is always one the core
can bill:

* an event dated after now (the injected clock) is refused — the future is not known;
* so is an event at or after the end of an account that ended (cancelled at the end of its
  term, or suspended, cancelled or deleted by dunning);
* an event that would make a member's history illegal (deactivating someone never activated,
  anything after a deletion…) is refused, naming the member and the instant;
* an event dated at or before an invoice already issued is accepted: the next billing run settles
  the difference as an ``adjustment`` line on the next invoice; issued invoices never change;
* a credit event (assign, start, unassign) is checked by the core's wallet rules, and the
  credit ledger is brought up to date in the same transaction (:mod:`seatwise.engine.credits`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from seatwise.core.account import Cancel, Uncancel
from seatwise.core.billing import TimelineEvent, walk
from seatwise.core.credit_billing import CreditAlert
from seatwise.core.credits import Assign, CreditEntry, Start, Unassign, totals
from seatwise.core.errors import SeatwiseError, TimelineError
from seatwise.core.limits import (
    MAX_CREDITS,
    check_count,
    check_email,
    check_instant,
    check_member_id,
)
from seatwise.core.periods import iso
from seatwise.core.seat_timeline import MEMBER_ACTIONS, Member, MemberChange, SeatTimeline
from seatwise.engine.account_billing import bill_account
from seatwise.engine.clock import Clock
from seatwise.engine.credits import CreditsRefused, sync_ledger
from seatwise.engine.messages import tell_credit_alert
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.database import write_transaction
from seatwise.store.payments_repository import AccountEnd
from seatwise.store.repository import StoredAccount

ACTIONS = (*MEMBER_ACTIONS, "cancel", "uncancel", "assign", "start", "unassign")


class EventRefused(SeatwiseError):
    """An event that cannot be recorded; nothing was stored."""


@dataclass(frozen=True)
class Recorded:
    """``late``: an invoice already issued at or after the event's instant should have counted
    it, so its effect arrives as an adjustment on the next invoice. ``credit_entries``: what the
    event added to the credit ledger; ``balance_after`` and ``assigned_after``: the wallet then.
    """

    seq: int
    late: bool
    at: datetime
    credit_entries: tuple[CreditEntry, ...] = ()
    balance_after: int = 0
    assigned_after: int = 0

    @property
    def alert(self) -> bool:
        """An assignment that made ``assigned`` go above ``balance`` (the contacts are alerted,
        as the core's :class:`~seatwise.core.credit_billing.CreditAlert` says)."""
        reserved = any(entry.kind == "reservation" for entry in self.credit_entries)
        balance_before = self.balance_after - sum(e.balance_change for e in self.credit_entries)
        assigned_before = self.assigned_after - sum(e.assigned_change for e in self.credit_entries)
        was_over = assigned_before > balance_before
        return reserved and self.assigned_after > self.balance_after and not was_over


def make_event(
    action: str,
    at: datetime,
    member: str | None,
    content: str | None = None,
    credits: int | None = None,
) -> TimelineEvent:
    """The event for a CLI or API request; :class:`EventRefused` if it does not make sense."""
    if action not in ACTIONS:
        raise EventRefused(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    if action in ("cancel", "uncancel"):
        if member is not None:
            raise EventRefused(f"member: `{action}` concerns the account, not a member")
        return Cancel(at) if action == "cancel" else Uncancel(at)
    if not member:
        raise EventRefused(f"member: `{action}` needs the member it happens to")
    check_member_id(member)
    if action in ("assign", "start", "unassign"):
        if not content:
            raise EventRefused(f"content: `{action}` needs the premium content it concerns")
        check_member_id(content, "content")
        if action == "start":
            return Start(at, member, content)
        if action == "unassign":
            return Unassign(at, member, content)
        if credits is None or credits < 1:
            raise EventRefused("credits: an assignment reserves at least one credit")
        return Assign(at, member, content, check_count(credits, "credits", MAX_CREDITS, 1))
    return MemberChange(at, member, action)


def record_event(
    engine: Engine,
    account_id: str,
    event: TimelineEvent,
    clock: Clock,
    new_member: Member | None = None,
    happens_now: bool = False,
) -> Recorded:
    """Append ``event`` to the account's timeline, or refuse it and store nothing.

    ``new_member`` gives the billing details (``manage_billing``, email) of a member who first
    appears with this event (``invite`` or ``activate``). ``happens_now``: the event happens
    as it is recorded — its instant is the clock's, read once the account's lock is held, so
    events recorded "now" by concurrent callers are in the order they are recorded.
    """
    check_instant(event.at, "at")
    if new_member is not None:
        check_member_details(new_member)
    with write_transaction(engine) as connection:
        repository.lock_account(connection, account_id)
        now = clock.now()
        if happens_now:
            event = replace(event, at=now)
        return record_locked(connection, account_id, event, now, new_member)


def check_moment(
    account_id: str, subscribed_at: datetime, end: AccountEnd, at: datetime, now: datetime
) -> None:
    """An event's instant has happened, is not before the subscription, and not at or after
    the end of an account that ended."""
    if at > now:
        raise EventRefused(
            f"at: {iso(at)} is in the future (now is {iso(now)}); record events when they happen"
        )
    if at < subscribed_at:
        raise EventRefused(f"at: {iso(at)} is before the subscription ({iso(subscribed_at)})")
    if end.ended_at is not None and at >= end.ended_at:
        raise EventRefused(
            f"account {account_id!r} is {end.status} since {iso(end.ended_at)}: nothing after "
            "that is recorded"
        )


def record_locked(
    connection: Connection,
    account_id: str,
    event: TimelineEvent,
    now: datetime,
    new_member: Member | None = None,
) -> Recorded:
    """:func:`record_event` in the caller's transaction, the account's lock held.

    On an account with credits, billing and collection are first brought up to just before
    the event (a billing run may lag): a charge due earlier — a purchase paid on a retry —
    then reaches the ledger before the credit movements that come after it, in time order."""
    stored = repository.load_account(connection, account_id)
    end = payments.account_end(connection, account_id)
    check_moment(account_id, stored.account.subscribed_at, end, event.at, now)
    if stored.plan.credits is not None:
        bill_account(connection, account_id, event.at - timedelta(microseconds=1))
        stored = repository.load_account(connection, account_id)
    if isinstance(event, MemberChange):
        _check_member_history(stored.events, event)
        known = {member.id for member in stored.account.members}
        if event.member not in known:
            details = new_member or Member(event.member)
            if details.id != event.member:
                raise EventRefused("member: the new member's details name another member")
            repository.add_member(connection, account_id, details)
    elif isinstance(event, Cancel | Uncancel):
        _check_subscription_change(stored, event)
    seq = repository.next_event_seq(connection, account_id)
    repository.append_events(connection, account_id, [event], now, first_seq=seq)
    try:
        appended = sync_ledger(connection, account_id, now)
    except (TimelineError, CreditsRefused) as error:
        raise EventRefused(str(error)) from None
    balance, assigned = totals(repository.ledger(connection, account_id))
    recorded = Recorded(seq, False, event.at, tuple(appended), balance, assigned)
    if recorded.alert:  # the billing contacts hear of it now, not at the next billing run
        tell_credit_alert(connection, account_id, CreditAlert(event.at, balance, assigned))
    # An invoice issued at or after the event's instant should have counted it (events come
    # before the scheduled action of their instant): the next invoice adjusts it.
    last_issue = repository.last_issued_at(connection, account_id)
    return replace(recorded, late=last_issue is not None and event.at <= last_issue)


def _check_subscription_change(stored: StoredAccount, event: Cancel | Uncancel) -> None:
    """A cancellation of a subscription that is not cancelled; taking one back before it
    took effect."""
    before = [e for e in stored.events if e.at <= event.at]
    run = walk(stored.plan, stored.account, before, event.at)
    if isinstance(event, Cancel) and run.ends_at is not None:
        raise EventRefused(
            f"account {stored.id!r} is already cancelled (it ends on {iso(run.ends_at)})"
        )
    if isinstance(event, Uncancel):
        if run.ends_at is None:
            raise EventRefused(f"account {stored.id!r} is not cancelled")
        if run.ended or run.ends_at <= event.at:
            raise EventRefused(
                f"account {stored.id!r}: the cancellation took effect on {iso(run.ends_at)}"
            )


def check_member_details(member: Member) -> None:
    """A member's id and email can be stored."""
    check_member_id(member.id)
    if member.email is not None:
        check_email(member.email)


def _check_member_history(events: tuple[TimelineEvent, ...], event: MemberChange) -> None:
    """The member's history with ``event`` in its place (after events at the same instant
    recorded earlier) must stay legal, before and after it."""
    changes = [e for e in events if isinstance(e, MemberChange) and e.member == event.member]
    position = sum(1 for e in changes if e.at <= event.at)
    try:
        SeatTimeline([*changes[:position], event, *changes[position:]])
    except TimelineError as error:
        raise EventRefused(str(error)) from None
