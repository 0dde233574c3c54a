"""Billing and collecting together, as a simulation sees them (SPEC 8, 9).

Billing (:mod:`seatwise.core.billing`) and collection (:mod:`seatwise.core.dunning`) depend on
each other in two places only: a credits purchase adds its credits when its invoice is paid,
and dunning's final action ends the subscription. Both are timeline events — ``CreditsPaid``
and ``Terminate`` — so :func:`bill_and_collect` bills, collects through the test gateway,
turns what collecting found into those events, and bills again until nothing new is found
(a fixed point, reached in a few rounds: an event can only change what comes after it).

The engine does the same in time order against its store and a real gateway
(:mod:`seatwise.engine.collection`); a scenario simulated by either lists the same invoices,
statuses and notifications.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from seatwise.core.account import RETENTION_DAYS, Account, Terminate
from seatwise.core.billing import BillingResult, TimelineEvent, generate_invoices
from seatwise.core.credits import BuyCredits, CreditsPaid
from seatwise.core.dunning import (
    Collection,
    ManualPayment,
    MethodChange,
    Receivable,
    collect_with_test_gateway,
    invoice_collection,
)
from seatwise.core.errors import SeatwiseError
from seatwise.core.invoice_states import OPEN, PAID
from seatwise.core.invoicing import Invoice
from seatwise.core.notifications import Notification, notify, order_key
from seatwise.core.plans import Plan

MAX_ROUNDS = 20


def invoice_number(index: int) -> str:
    """The number a simulation gives its ``index``-th invoice (from 1)."""
    return f"INV-{index:06d}"


@dataclass(frozen=True)
class CollectedBilling:
    """The invoices (settled from a zero balance), their numbers and statuses at ``until``,
    what collecting did, and every notification, in order."""

    billing: BillingResult
    numbers: tuple[str, ...]
    statuses: tuple[str, ...]
    collection: Collection
    notifications: tuple[Notification, ...]


def purchases_collection(events: Iterable[TimelineEvent]) -> dict[datetime, str]:
    """How each credits purchase of a timeline is paid, by its instant."""
    return {event.at: event.collection for event in events if isinstance(event, BuyCredits)}


def receivable(
    plan: Plan,
    number: str,
    invoice: Invoice,
    purchases: Mapping[datetime, str],
    amount: int | None = None,
) -> Receivable:
    """An issued invoice as collection sees it, with how it is collected; ``amount``: what is
    still owed, when not its total."""
    how = invoice_collection(plan, invoice.kind, invoice.period.start, purchases)
    owed = invoice.total if amount is None else amount
    return Receivable(number, invoice.issued_at, invoice.due_at, owed, collection=how)


def events_from_collection(
    invoices: Sequence[Invoice], numbers: Sequence[str], collection: Collection
) -> list[TimelineEvent]:
    """The timeline events collecting implies: credits purchases paid, and the final action."""
    found: list[TimelineEvent] = []
    for number, invoice in zip(numbers, invoices, strict=True):
        if invoice.kind != "credits":
            continue
        paid = collection.paid_at(
            Receivable(number, invoice.issued_at, invoice.due_at, invoice.total)
        )
        if paid is not None:
            found.append(CreditsPaid(paid, invoice.period.start))
    if collection.final is not None:
        found.append(Terminate(collection.final.at, collection.final.action))
    return sorted(found, key=lambda event: event.at)


def merge(events: Iterable[TimelineEvent], derived: Sequence[TimelineEvent]) -> list[TimelineEvent]:
    """The timeline with derived events after every recorded one of the same instant (as the
    engine, recording them later, orders them)."""
    return sorted([*events, *derived], key=lambda event: event.at)  # stable


def bill_and_collect(
    plan: Plan,
    account: Account,
    events: Sequence[TimelineEvent],
    methods: Sequence[MethodChange],
    until: datetime,
    endpoints: Sequence[str] = (),
    by_hand: Sequence[ManualPayment] = (),
) -> CollectedBilling:
    """Bill and collect from the subscription up to ``until`` with the test gateway; payments
    ``by_hand`` are recorded at their instants (:class:`~seatwise.core.dunning.PaymentError`
    for one that cannot be)."""
    derived: list[TimelineEvent] = []
    purchases = purchases_collection(events)
    for _ in range(MAX_ROUNDS):
        result = generate_invoices(plan, account, merge(events, derived), until)
        numbers = tuple(invoice_number(i) for i in range(1, len(result.invoices) + 1))
        receivables = [
            receivable(plan, n, inv, purchases)
            for n, inv in zip(numbers, result.invoices, strict=True)
        ]
        collection = collect_with_test_gateway(
            plan, account.timezone, receivables, methods, until, by_hand
        )
        found = events_from_collection(result.invoices, numbers, collection)
        if found == derived:
            break
        derived = found
    else:  # pragma: no cover - each round can only move events later in time
        raise SeatwiseError("billing and collection did not settle")
    statuses = tuple(PAID if collection.paid_at(r) is not None else OPEN for r in receivables)
    notes = notifications(account, result, numbers, collection, endpoints, until)
    return CollectedBilling(result, numbers, statuses, collection, notes)


def notifications(
    account: Account,
    result: BillingResult,
    numbers: Sequence[str],
    collection: Collection,
    endpoints: Sequence[str],
    until: datetime,
) -> tuple[Notification, ...]:
    seats = result.seats
    out: list[Notification] = []
    for number, invoice in zip(numbers, result.invoices, strict=True):
        out += notify(account, seats, endpoints, invoice.issued_at, "invoice_issued", number)
    tries: dict[str, int] = {}
    for attempt in collection.attempts:
        tries[attempt.invoice] = tries.get(attempt.invoice, 0) + 1
        if attempt.succeeded:
            out += notify(account, seats, endpoints, attempt.at, "invoice_paid", attempt.invoice)
        else:
            out += notify(
                account,
                seats,
                endpoints,
                attempt.at,
                "payment_failed",
                attempt.invoice,
                attempt=tries[attempt.invoice],
                reason=attempt.reason,
            )
    for remind in collection.reminders:
        out += notify(
            account, seats, endpoints, remind.at, "reminder", remind.invoice,
            days_before=remind.days_before,
        )  # fmt: skip
    final = collection.final
    if final is not None:
        kind = f"account_{Terminate(final.at, final.action).status}"
        out += notify(account, seats, endpoints, final.at, kind, final.invoice)
    state = result.state
    if state.status in ("cancelled", "deleted") and state.ends_at is not None:
        purge_at = state.ends_at + timedelta(days=RETENTION_DAYS)
        if purge_at <= until:
            out += notify(account, seats, endpoints, purge_at, "account_purged", None)
    for alert in result.alerts:
        out += notify(
            account, seats, endpoints, alert.at, "credit_alert", None,
            balance=alert.balance, assigned=alert.assigned,
        )  # fmt: skip
    return tuple(sorted(out, key=order_key))
