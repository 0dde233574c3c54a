"""Collecting issued invoices (SPEC 8): charges, retries, reminders and dunning's final action.

Like billing, collection is decided by a pure function of what happened: the invoices issued,
the charges already attempted with their outcomes, the account's payment methods over time and
the reminders already sent. :func:`next_action` says what is due next, at or before ``now``;
whoever performs it (the engine through a real gateway, a simulation through the test gateway)
records the outcome and asks again. So a collection run can stop at any point and resume.

The rules, per unpaid invoice with something to pay:

* an invoice is collected as its ``collection`` says: the plan's for subscription invoices; a
  credits purchase is a checkout, charged at once whatever the plan's (SPEC 7), unless the
  purchase was sold on an invoice (``send_invoice``);
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
  and an invoice issued at the instant the account is closed is not issued at all (SPEC 8);
* a payment recorded by hand (:class:`ManualPayment`, a transfer) pays an invoice at its
  instant, after the actions due then: it is an :class:`Attempt` that succeeded, by
  :data:`BY_HAND`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from seatwise.core.errors import TimelineError
from seatwise.core.gateway import test_method_outcome
from seatwise.core.money import Currency
from seatwise.core.periods import add_days
from seatwise.core.plans import Plan
from seatwise.core.records import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class Receivable:
    """An issued invoice as collection sees it. ``paid_at``: paid otherwise than by a charge
    recorded here (at issue with nothing to pay, credit notes). ``collection``: how it is
    collected when not as the plan says (a credits purchase: :func:`invoice_collection`)."""

    number: str
    issued_at: datetime
    due_at: datetime
    amount: int
    paid_at: datetime | None = None
    collection: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Attempt:
    """A charge made, with the gateway's answer."""

    invoice: str
    at: datetime
    method: str
    succeeded: bool
    reason: str = ""


@quick_init
@dataclass(frozen=True, slots=True)
class MethodChange:
    """From ``at`` on, the account pays with ``method`` (the first one: at subscription)."""

    at: datetime
    method: str


@quick_init
@dataclass(frozen=True, slots=True)
class Charge:
    at: datetime
    invoice: str
    method: str
    why: str


@quick_init
@dataclass(frozen=True, slots=True)
class FinalAction:
    at: datetime
    invoice: str
    action: str  # suspend | cancel | delete


@quick_init
@dataclass(frozen=True, slots=True)
class Remind:
    at: datetime
    invoice: str
    days_before: int


@dataclass(frozen=True, slots=True)
class ManualPayment:
    """A payment made outside the gateway (a transfer) and recorded by hand: invoice
    ``invoice`` paid at ``at``; ``amount`` (minor units), when given, must be what is due."""

    at: datetime
    invoice: str
    amount: int | None = None


class PaymentError(TimelineError):
    """A payment recorded by hand that cannot be: an invoice not issued yet, already paid, or
    a different amount than is due."""

    def __init__(self, message: str, payment: ManualPayment) -> None:
        super().__init__(message, at=payment.at)
        self.payment = payment


Action = Charge | FinalAction | Remind
FIRST_CHARGE = "the invoice is issued"
BY_HAND = "recorded by hand"  # the method of a payment recorded by hand


def invoice_collection(
    plan: Plan, kind: str, purchased_at: datetime, purchases: Mapping[datetime, str]
) -> str:
    """How an invoice is collected: a credits purchase is a checkout (charged at once,
    ``charge_automatically``) unless it was sold on an invoice (``purchases`` maps each
    purchase's instant to its collection); every other invoice as the plan says."""
    if kind == "credits":
        return purchases.get(purchased_at, "charge_automatically")
    return plan.collection


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
    upcoming: Iterable[Receivable] = (),
) -> Action | None:
    """The first collection action due at or before ``now``, or None. ``upcoming``: invoices
    about to be issued, in the order they will be (none charged or reminded yet); since each
    one's actions come at or after its issue, they are read only as far as one of them could
    still come first (the rest may be computed lazily, and are not)."""
    first: Action | None = None
    first_key = (now, 4)

    def consider(receivable: Receivable) -> None:
        nonlocal first, first_key
        if receivable.paid_at is not None or receivable.amount <= 0:
            return  # paid otherwise, or nothing to pay (:func:`paid_at`)
        mine = [a for a in attempts if a.invoice == receivable.number]
        if any(a.succeeded for a in mine):
            return  # paid by a charge
        candidates: list[Action] = []
        if (receivable.collection or plan.collection) == "charge_automatically":
            candidates.extend(_charging(plan, tz, receivable, mine, methods))
        for days in plan.reminders:
            at = add_days(receivable.due_at, -days, tz)
            if at > receivable.issued_at and (receivable.number, days) not in reminded:
                candidates.append(Remind(at, receivable.number, days))
        for action in candidates:  # the earliest, the first of equals (rank breaks ties)
            key = (action.at, rank(action))
            if action.at <= now and (first is None or key < first_key):
                first, first_key = action, key

    for receivable in receivables:
        consider(receivable)
    for receivable in upcoming:
        if receivable.issued_at > (now if first is None else first_key[0]):
            break  # it and every later one act after what is found (or after ``now``)
        consider(receivable)
    return first


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


def record_by_hand(
    payment: ManualPayment,
    receivables: Sequence[Receivable],
    attempts: Sequence[Attempt],
    cur: Currency,
) -> Attempt:
    """The succeeded attempt that a payment recorded by hand is; :class:`PaymentError` if the
    invoice was not issued by then, is paid already, or owes another amount."""
    found = next((r for r in receivables if r.number == payment.invoice), None)
    if found is None or found.issued_at > payment.at:
        raise PaymentError(f"{payment.invoice} was not issued by then", payment)
    if paid_at(found, [a for a in attempts if a.at <= payment.at]) is not None:
        raise PaymentError(f"{payment.invoice} is paid already", payment)
    if payment.amount is not None and payment.amount != found.amount:
        raise PaymentError(
            f"{payment.invoice} owes {cur.display(found.amount)}, not "
            f"{cur.display(payment.amount)} (a payment is of the whole amount due)",
            payment,
        )
    return Attempt(payment.invoice, payment.at, BY_HAND, True, "payment recorded by hand")


def collect_with_test_gateway(
    plan: Plan,
    tz: ZoneInfo,
    receivables: Sequence[Receivable],
    methods: Sequence[MethodChange],
    until: datetime,
    by_hand: Sequence[ManualPayment] = (),
) -> Collection:
    """Collect up to ``until`` through the test gateway (:func:`test_method_outcome`): what a
    simulation shows. Charges to a method are counted from the instant it was set. Payments
    recorded by hand are taken at their instant, after the actions due then."""
    attempts: list[Attempt] = []
    reminders: list[Remind] = []
    reminded: set[tuple[str, int]] = set()
    waiting = sorted((payment for payment in by_hand if payment.at <= until), key=lambda p: p.at)
    while True:
        action = next_action(plan, tz, receivables, attempts, methods, reminded, until)
        if waiting and (action is None or action.at > waiting[0].at):
            attempts.append(record_by_hand(waiting.pop(0), receivables, attempts, plan.currency))
            continue
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
