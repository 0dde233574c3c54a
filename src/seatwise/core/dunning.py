"""Collecting issued invoices (SPEC 8): charges, retries, reminders and dunning's final action.

Like billing, collection is decided by a pure function of what happened: the invoices issued,
the charges already attempted with their outcomes, the account's payment methods over time and
the reminders already sent. :func:`next_action` says what is due next, at or before ``now``;
whoever performs it (the engine through a real gateway, a simulation through the test gateway)
records the outcome and asks again. So a collection run can stop at any point and resume.

The rules, per unpaid invoice with something to pay:

* ``charge_automatically``: the first charge when the invoice is issued; after a declined
  charge, another ``retry_after_days`` later, up to ``max_attempts`` charges; a payment method
  set after the last declined charge is charged at once (and counts as an attempt);
* ``grace_days`` after the first declined charge, if the invoice is still unpaid, the
  ``final_action`` (``suspend``, ``cancel``, ``delete``) is taken on the account; after it
  nothing more is collected or reminded here (what was invoiced stays owed);
* every unpaid invoice (either collection) is reminded at each of the plan's ``reminders`` days
  before its due date, when that instant falls after its issue;
* actions due at the same instant: retries first, then the final action, then the first charges
  of invoices issued then, then reminders — so a retry that succeeds leaves nothing to punish,
  and an invoice issued at the instant the account is closed is not issued at all (SPEC 8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from seatwise.core.gateway import test_method_outcome
from seatwise.core.periods import add_days
from seatwise.core.plans import Plan


@dataclass(frozen=True, slots=True)
class Receivable:
    """An issued invoice as collection sees it. ``paid_at``: paid otherwise than by a charge
    recorded here (at issue with nothing to pay, a transfer, credit notes)."""

    number: str
    issued_at: datetime
    due_at: datetime
    amount: int
    paid_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """A charge made, with the gateway's answer."""

    invoice: str
    at: datetime
    method: str
    succeeded: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MethodChange:
    """From ``at`` on, the account pays with ``method`` (the first one: at subscription)."""

    at: datetime
    method: str


@dataclass(frozen=True, slots=True)
class Charge:
    at: datetime
    invoice: str
    method: str
    why: str


@dataclass(frozen=True, slots=True)
class FinalAction:
    at: datetime
    invoice: str
    action: str  # suspend | cancel | delete


@dataclass(frozen=True, slots=True)
class Remind:
    at: datetime
    invoice: str
    days_before: int


Action = Charge | FinalAction | Remind
FIRST_CHARGE = "the invoice is issued"


def rank(action: Action) -> int:
    """The order of actions due at one instant (see the module's docstring)."""
    if isinstance(action, Charge):
        return 2 if action.why == FIRST_CHARGE else 0
    return 1 if isinstance(action, FinalAction) else 3


def method_at(changes: Sequence[MethodChange], at: datetime) -> str:
    """The payment method in force at ``at`` (``none`` before the first)."""
    method = "none"
    for change in changes:
        if change.at <= at:
            method = change.method
    return method


def paid_at(receivable: Receivable, attempts: Sequence[Attempt]) -> datetime | None:
    if receivable.paid_at is not None:
        return receivable.paid_at
    if receivable.amount <= 0:
        return receivable.issued_at
    for attempt in attempts:
        if attempt.invoice == receivable.number and attempt.succeeded:
            return attempt.at
    return None


def next_action(
    plan: Plan,
    tz: ZoneInfo,
    receivables: Sequence[Receivable],
    attempts: Sequence[Attempt],
    methods: Sequence[MethodChange],
    reminded: set[tuple[str, int]],
    now: datetime,
) -> Action | None:
    """The first collection action due at or before ``now``, or None."""
    candidates: list[Action] = []
    for receivable in receivables:
        if paid_at(receivable, attempts) is not None:
            continue
        mine = [a for a in attempts if a.invoice == receivable.number]
        if plan.collection == "charge_automatically":
            candidates.extend(_charging(plan, tz, receivable, mine, methods))
        for days in plan.reminders:
            at = add_days(receivable.due_at, -days, tz)
            if at > receivable.issued_at and (receivable.number, days) not in reminded:
                candidates.append(Remind(at, receivable.number, days))
    due = [action for action in candidates if action.at <= now]
    if not due:
        return None
    return min(due, key=lambda action: (action.at, rank(action)))


def _charging(
    plan: Plan,
    tz: ZoneInfo,
    receivable: Receivable,
    attempts: list[Attempt],
    methods: Sequence[MethodChange],
) -> list[Action]:
    number = receivable.number
    if not attempts:
        at = receivable.issued_at
        return [Charge(at, number, method_at(methods, at), FIRST_CHARGE)]
    dunning = plan.dunning
    last = attempts[-1]
    out: list[Action] = [
        FinalAction(add_days(attempts[0].at, dunning.grace_days, tz), number, dunning.final_action)
    ]
    updated = [change for change in methods if change.at > last.at]
    if updated:
        first = updated[0]
        out.append(Charge(first.at, number, first.method, "the payment method was updated"))
    elif len(attempts) < dunning.max_attempts:
        at = add_days(last.at, dunning.retry_after_days, tz)
        out.append(Charge(at, number, method_at(methods, at), f"retry {len(attempts) + 1}"))
    return out


def charges_since_set(
    attempts: Sequence[Attempt], methods: Sequence[MethodChange], method: str, at: datetime
) -> int:
    """How many charges ``method`` has had since it was last set, before ``at``: what the test
    gateway counts (``declines_first_2`` declines the first two after it is set)."""
    since = max((c.at for c in methods if c.at <= at), default=at)
    return sum(1 for a in attempts if a.method == method and since <= a.at <= at)


@dataclass(frozen=True, slots=True)
class Collection:
    """What collecting did up to an instant: charges, reminders sent, and the final action
    taken, if dunning came to one."""

    attempts: tuple[Attempt, ...]
    reminders: tuple[Remind, ...]
    final: FinalAction | None

    def paid_at(self, receivable: Receivable) -> datetime | None:
        return paid_at(receivable, self.attempts)


def collect_with_test_gateway(
    plan: Plan,
    tz: ZoneInfo,
    receivables: Sequence[Receivable],
    methods: Sequence[MethodChange],
    until: datetime,
) -> Collection:
    """Collect up to ``until`` through the test gateway (:func:`test_method_outcome`): what a
    simulation shows. Charges to a method are counted from the instant it was set."""
    attempts: list[Attempt] = []
    reminders: list[Remind] = []
    reminded: set[tuple[str, int]] = set()
    while True:
        action = next_action(plan, tz, receivables, attempts, methods, reminded, until)
        if action is None:
            return Collection(tuple(attempts), tuple(reminders), None)
        if isinstance(action, FinalAction):
            return Collection(tuple(attempts), tuple(reminders), action)
        if isinstance(action, Remind):
            reminders.append(action)
            reminded.add((action.invoice, action.days_before))
            continue
        earlier = charges_since_set(attempts, methods, action.method, action.at)
        outcome = test_method_outcome(action.method, earlier)
        attempts.append(
            Attempt(action.invoice, action.at, action.method, outcome.succeeded, outcome.reason)
        )
