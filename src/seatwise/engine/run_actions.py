"""Performing what collection says is due in one account's billing run
(:class:`~seatwise.engine.collection.AccountRun`, SPEC 8): a reminder, dunning's final
action, or a charge through the payment gateway — its attempt, its outcome, and the invoice
paid. A final action and a charge that pays a credits purchase record a timeline event, so
the run recomputes billing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seatwise.core.account import Terminate
from seatwise.core.billing import BillingResult
from seatwise.core.credits import CreditsPaid
from seatwise.core.dunning import Action, Attempt, Charge, FinalAction, Remind, charges_since_set
from seatwise.core.gateway import ChargeRequest
from seatwise.core.invoice_states import OPEN, PAID
from seatwise.core.periods import iso
from seatwise.engine.batch import is_provisional
from seatwise.store import repository

if TYPE_CHECKING:
    from seatwise.engine.collection import AccountRun


def perform(run: AccountRun, result: BillingResult, action: Action) -> bool:
    """Do it; True when it recorded a timeline event (so billing must be recomputed)."""
    if isinstance(action, Remind):
        unpaid = run.unpaid[action.invoice]
        run.reminded.add((action.invoice, action.days_before))
        run.batch.reminders.append((action.invoice, action.days_before, run.account_id, action.at))
        run.tell(
            result, action.at, "reminder", action.invoice, unpaid.invoice, unpaid.amount,
            days_before=action.days_before,
        )  # fmt: skip
        return False
    if isinstance(action, FinalAction):
        event = Terminate(action.at, action.action)
        run.record_event(event)
        unpaid = run.unpaid[action.invoice]
        run.tell(
            result, action.at, f"account_{event.status}", action.invoice, unpaid.invoice,
            unpaid.amount,
        )  # fmt: skip
        return True
    return charge(run, result, action)


def charge(run: AccountRun, result: BillingResult, action: Charge) -> bool:
    """Charge through the gateway; True when it paid a credits purchase (an event)."""
    unpaid = run.unpaid[action.invoice]
    plan = run.stored.plan
    number = sum(1 for a in run.attempts if a.invoice == action.invoice) + 1
    request = ChargeRequest(
        run.account_id,
        "" if is_provisional(action.invoice) else action.invoice,  # numbered at commit
        number,
        action.method,
        unpaid.amount,
        plan.currency.code,
        action.at,
        charges_since_set(run.attempts, run.methods, action.method, action.at),
        invoice_key="/".join(
            (run.account_id, unpaid.invoice.kind, iso(unpaid.invoice.period.start),
             iso(unpaid.invoice.period.end))
        ),
    )  # fmt: skip
    outcome = run.gateway.charge(request)
    run.attempts.append(
        Attempt(action.invoice, action.at, action.method, outcome.succeeded, outcome.reason)
    )
    run.batch.attempts.append(
        [
            run.account_id,
            action.invoice,
            number,
            action.at,
            action.method,
            unpaid.amount,
            outcome.succeeded,
            outcome.reason,
            outcome.reference,
            None,  # the receipt, numbered when the batch is written
            run.until,
        ]
    )
    if not outcome.succeeded:
        run.tell(
            result, action.at, "payment_failed", action.invoice, unpaid.invoice,
            unpaid.amount, attempt=number, reason=outcome.reason,
        )  # fmt: skip
        return False
    del run.unpaid[action.invoice]
    reason = f"charged to {action.method} (attempt {number})"
    if unpaid.entry is not None:
        unpaid.entry.status = PAID
        unpaid.entry.paid = (action.at, reason)
    else:
        assert unpaid.stored_id is not None
        repository.change_status(run.connection, unpaid.stored_id, OPEN, PAID, action.at, reason)
    run.tell(result, action.at, "invoice_paid", action.invoice, unpaid.invoice, 0)
    if unpaid.invoice.kind == "credits":
        run.record_event(CreditsPaid(action.at, unpaid.invoice.period.start))
        return True
    return False
