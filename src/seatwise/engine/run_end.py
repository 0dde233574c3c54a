"""The end of one account's billing run (:class:`~seatwise.engine.collection.AccountRun`):
the account's state after it, its credit alerts, its checkpoint, its ledger, its purge once
its data's time is up, and the next instant anything is due for it (only what is due: a later
run takes the account again then, or as soon as anything is recorded for it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from seatwise.core.account import RETENTION_DAYS, Cancel, Uncancel
from seatwise.core.billing import BillingResult, TimelineEvent
from seatwise.core.checkpoint import count_up_to
from seatwise.core.periods import iso, make_schedule
from seatwise.core.seat_timeline import MemberChange
from seatwise.engine import messages
from seatwise.engine.credits import sync_ledger
from seatwise.store import outbox_repository as outbox_store
from seatwise.store import payments_repository as payments
from seatwise.store.repository import AccountAfterBilling, StoredAccount

if TYPE_CHECKING:
    from seatwise.engine.collection import AccountRun

NOTHING_DUE = datetime(2199, 12, 31, tzinfo=UTC)  # the last day an instant may be (limits)
RESOLUTION = timedelta(microseconds=1)


def acts_at_once(stored: StoredAccount, event: TimelineEvent) -> bool:
    """Whether billing may have something to do at the instant of ``event`` itself (rather
    than at the next anniversary): a credit event (a checkout, an overage, an alert), or a
    member change under an advance plan that invoices its prorations at once or at a
    threshold. Cancellations end terms on anniversaries; arrears plans and monthly or
    at-renewal prorations invoice on anniversaries."""
    if isinstance(event, MemberChange):
        plan = stored.plan
        return plan.billing == "advance" and plan.pending.invoice in ("immediately", "threshold")
    return not isinstance(event, Cancel | Uncancel)


def finish(run: AccountRun, result: BillingResult) -> None:
    """Once nothing more is due by ``until``: the account's state after the run and its next
    due instant (written with the batch), its credit alerts, its checkpoint, its ledger, and
    its purge when its data's time is up."""
    stored, connection = run.stored, run.connection
    state = result.state
    ended_at = state.ends_at if state.status != "active" else None
    run.batch.accounts.append(  # written with the batch, with its other accounts
        AccountAfterBilling(
            run.account_id,
            state.status,
            run.balance,
            ended_at,
            run.until,
            next_due(run, result),
        )
    )
    tell_alerts(run, result)
    run.batch.checkpoints.append((run.account_id, run.walk.checkpoint_after(result)))
    if stored.plan.credits is not None:  # credit movements up to `until` join the ledger
        sync_ledger(connection, run.account_id, run.until, state.wallet.entries)
    if (
        state.status in ("cancelled", "deleted")
        and ended_at is not None
        and ended_at + timedelta(days=RETENTION_DAYS) <= run.until
    ):
        end = payments.account_end(connection, run.account_id)
        if end.purged_at is None:
            at = ended_at + timedelta(days=RETENTION_DAYS)
            removed = payments.purge_account(connection, run.account_id, at, ended_at, run.until)
            for purged in messages.tell(
                stored, run.walk.seats_for(result, at), run.endpoints, at, "account_purged",
                None, None,
            ):  # fmt: skip
                purged.payload["data"].update(
                    ended_at=iso(ended_at), purged_at=iso(at), removed=removed
                )
                run.batch.messages.append(purged)


def next_due(run: AccountRun, result: BillingResult) -> datetime:
    """The first instant after ``until`` at which a run could have anything to do for the
    account if nothing new is recorded: its next timeline event (one recorded ahead of the
    run's ``until``), its next monthly anniversary (renewals, cycles, statements, monthly
    interims and the end of a cancelled term all fall on one), its next collection action
    (charge, retry, reminder, final action), its purge. Events,
    payment methods and invoice changes recorded later clear it (the next run recomputes).
    :data:`NOTHING_DUE` when nothing will ever be."""
    stored, state = run.stored, result.state
    found = [NOTHING_DUE]
    events = stored.events  # in time order: those after ``until`` begin here
    later = (e.at for e in events[count_up_to(events, run.until) :] if acts_at_once(stored, e))
    found.append(next(later, NOTHING_DUE))  # a recorded event the run has not reached
    if state.status == "active":
        plan, account = stored.plan, stored.account
        schedule = make_schedule(
            account.service_start, plan.anchor_delay_hours, plan.interval, account.timezone
        )
        month = 0
        while schedule.anniversary(month) <= run.until:
            month += 1
        found.append(schedule.anniversary(month))
    action = run.next_action((), NOTHING_DUE)
    if action is not None:
        found.append(max(action.at, run.until + RESOLUTION))
    if state.status in ("cancelled", "deleted") and state.ends_at is not None:
        purge_at = state.ends_at + timedelta(days=RETENTION_DAYS)
        if purge_at > run.until:
            found.append(purge_at)
    return min(found)


def tell_alerts(run: AccountRun, result: BillingResult) -> None:
    """Credit alerts up to ``until`` not told yet (recording tells most as they happen)."""
    if not result.alerts:
        return
    told = outbox_store.told_alerts(run.connection, run.account_id)
    for alert in result.alerts:
        if alert.at not in told:
            run.tell(
                result, alert.at, "credit_alert", None, None,
                balance=alert.balance, assigned=alert.assigned,
            )  # fmt: skip
