"""Credits in the billing walk (SPEC 7): the invoices and pending items credit events create.

* ``buy_credits`` issues a ``credits`` invoice at once, priced by the plan's credit tiers (the
  whole purchase at the tier it reaches). Its credits reach the wallet when it is paid, with a
  ``credits_paid`` event (collection records it: a charge that succeeds, a payment recorded by
  hand, or nothing left to pay once the account's credit balance is applied).
* ``assign`` / ``start`` / ``unassign`` move the wallet (:mod:`seatwise.core.credits`); they are
  refused for a member unknown at that instant or who has left (deactivated, deleted).
* A member who leaves releases their reservations.
* A start that finds too few credits makes a ``credits_overage`` pending item at the retail
  ``unit_price``; overage goes on the next monthly invoice, whatever the plan's interval
  (the walk's monthly anniversaries take it: see :mod:`seatwise.core.billing`).
* An assignment that makes ``assigned`` exceed ``balance`` raises a :class:`CreditAlert`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from seatwise.core.credits import (
    Assign,
    BuyCredits,
    CreditError,
    CreditEvent,
    CreditsPaid,
    Start,
    Unassign,
    quote,
)
from seatwise.core.invoicing import Explanation, Invoice, Line
from seatwise.core.periods import Period, add_days, iso
from seatwise.core.seat_timeline import DEACTIVATED, DELETED, MemberChange

if TYPE_CHECKING:
    from seatwise.core.billing_walk import BillingWalk


@dataclass(frozen=True, slots=True)
class CreditAlert:
    """At ``at``, ``assigned`` credits went above the ``balance``."""

    at: datetime
    balance: int
    assigned: int


def apply_credit_event(run: BillingWalk, event: CreditEvent) -> None:
    plan, at = run.plan, event.at
    prices = plan.credits
    if prices is None:
        raise CreditError("the plan has no credits (add `credits` with a `unit_price`)", at=at)
    if run.ended:
        if run.terminated is not None:
            raise CreditError(f"the account was {run.terminated.status}", at=at)
        raise CreditError("the subscription has ended", at=at)
    if isinstance(event, BuyCredits):
        buy(run, event)
        return
    if isinstance(event, CreditsPaid):
        credits = run.awaiting_payment.pop(event.purchased_at, None)
        if credits is None:
            raise CreditError(
                f"no unpaid credits purchase made at {iso(event.purchased_at)}", at=at
            )
        run.wallet, _ = run.wallet.purchase(
            at, credits, f"{credits} credit(s) bought on {run.day(event.purchased_at)}, paid"
        )
        return
    check_member(run, event.member, at)
    if isinstance(event, Assign):
        was_over = run.wallet.over_assigned
        run.wallet, _ = run.wallet.assign(at, event.member, event.content, event.credits)
        if run.wallet.over_assigned and not was_over:
            run.alerts.append(CreditAlert(at, run.wallet.balance, run.wallet.assigned))
    elif isinstance(event, Start):
        run.wallet, entries = run.wallet.start(at, event.member, event.content)
        for entry in entries:
            if entry.kind == "overage":
                run.overage.append(overage_line(run, entry.credits, event, prices.unit_price))
    elif isinstance(event, Unassign):
        run.wallet, _ = run.wallet.unassign(at, event.member, event.content)


def check_member(run: BillingWalk, member: str, at: datetime) -> None:
    state = run.sweep.state(member)  # the changes at `at` applied
    if state is None:
        raise CreditError("unknown member", member=member, at=at)
    if state in (DEACTIVATED, DELETED):
        raise CreditError(f"the member has left ({state})", member=member, at=at)


def member_left(run: BillingWalk, change: MemberChange) -> None:
    """A deactivated or deleted member's reservations are released."""
    if change.action in ("deactivate", "delete"):
        run.wallet, _ = run.wallet.member_left(change.at, change.member)


def buy(run: BillingWalk, event: BuyCredits) -> None:
    plan, at = run.plan, event.at
    assert plan.credits is not None
    if event.credits < 1:
        raise CreditError("a purchase is of at least one credit", at=at)
    if at in run.awaiting_payment or any(
        invoice.kind == "credits" and invoice.issued_at == at for invoice in run.invoices
    ):
        raise CreditError("credits were already bought at this instant", at=at)
    offer = quote(plan.credits, event.credits)
    cur = plan.currency
    tier = (
        "the retail price"
        if offer.unit_price == plan.credits.unit_price
        else f"the tier the purchase reaches ({cur.display(offer.unit_price)} per credit)"
    )
    line = Line(
        kind="credits_purchase",
        description=f"{event.credits} × Credit (at {cur.display(offer.unit_price)})",
        quantity=event.credits,
        unit_price=offer.unit_price,
        amount=offer.total,
        period=Period(at, at),
        explanation=Explanation(
            f"{event.credits} credit(s) bought on {run.day(at)}, each at {tier}. The credits "
            "are added to the wallet when this invoice is paid."
        ),
    )
    due = add_days(at, plan.net_days, run.account.timezone)
    invoice = Invoice("credits", at, due, Period(at, at), (line,))
    run.invoices.append(invoice)
    run.awaiting_payment[at] = event.credits


def overage_line(run: BillingWalk, missing: int, event: Start, unit_price: int) -> Line:
    cur = run.plan.currency
    day = run.day(event.at)
    return Line(
        kind="credits_overage",
        description=(
            f"{missing} × Credit overage: {event.content} started by {event.member} on {day} "
            f"(at {cur.display(unit_price)})"
        ),
        quantity=missing,
        unit_price=unit_price,
        amount=missing * unit_price,
        period=Period(event.at, event.at),
        explanation=Explanation(
            f"{event.member} started {event.content} on {day} when the credit balance was "
            f"short by {missing} credit(s); missing credits are charged at the retail price.",
            members=(event.member,),
        ),
    )


def take_overage(run: BillingWalk) -> list[Line]:
    lines, run.overage = run.overage, []
    return lines
