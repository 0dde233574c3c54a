"""One account's history billed under several plans, side by side (``seatwise compare``).

Billing is a pure function of plan and timeline, so "what would this customer have paid under
another policy?" has an exact answer: the scenario's members, cancellations and credit events
are billed and collected (the test gateway, the scenario's payment method) under each plan by
the same core that bills it for real. Nothing is stored or sent. Payments a scenario records
by hand (``pay``) name invoices of its own plan, so they are left out of every plan's run.

The window is ``[service start, until)``: an invoice issued at ``until`` itself (a renewal on
the last day's midnight) belongs to the next period and is left out, and seat-days stop there.

Cash timing: an invoice counts as collected when the simulation's collection paid it; an
invoice sent for payment (``send_invoice``) that nobody paid in the scenario counts on its due
date, as if paid when due; a charge that failed counts never.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from seatwise.analysis.series import (
    SeatDays,
    Step,
    billed_steps,
    occupancy_steps,
    seat_days,
)
from seatwise.core.billing import AccountState
from seatwise.core.errors import SeatwiseError
from seatwise.core.invoicing import Invoice
from seatwise.core.money import Currency, round_half_up
from seatwise.core.payments import bill_and_collect, purchases_collection, receivable
from seatwise.core.periods import Period, local_date, make_schedule
from seatwise.core.plans import Plan, parse_plan
from seatwise.core.presets import PRESETS, preset_names
from seatwise.core.seat_timeline import MemberChange
from seatwise.scenario import Scenario


class CompareError(SeatwiseError):
    """Plans that cannot be compared on this history; nothing was billed."""


@dataclass(frozen=True)
class Policy:
    """One plan of a comparison, with the name it is shown under."""

    label: str
    definition: dict[str, Any]  # the plan document (a preset and the fields that override it)
    plan: Plan


@dataclass(frozen=True)
class BilledInvoice:
    number: str
    invoice: Invoice
    status: str
    collected_at: datetime | None  # see the module's words on cash timing


@dataclass(frozen=True)
class Outcome:
    """What one plan bills for the history."""

    policy: Policy
    invoices: tuple[BilledInvoice, ...]
    state: AccountState
    occupancy: tuple[Step, ...]
    billed: tuple[Step, ...]
    seat_days: SeatDays
    terms: tuple[tuple[Period, int], ...]  # the plan's own terms and what was invoiced in each

    @property
    def total(self) -> int:
        return sum(entry.invoice.total for entry in self.invoices)


@dataclass(frozen=True)
class Comparison:
    name: str
    currency: Currency
    start: datetime
    until: datetime
    months: tuple[date, ...]  # the first day of each calendar month of the window
    outcomes: tuple[Outcome, ...]
    tz: ZoneInfo

    def month_of(self, instant: datetime) -> date:
        """The calendar month (its first day, in the account's time zone) of an instant."""
        return local_date(instant, self.tz).replace(day=1)

    def invoiced_by_month(self, outcome: Outcome) -> list[int]:
        """What ``outcome`` invoiced in each month of the window, by issue date."""
        return self._by_month((e.invoice.issued_at, e.invoice.total) for e in outcome.invoices)

    def collected_by_month(self, outcome: Outcome) -> list[int]:
        """What ``outcome`` collected in each month of the window (cash timing)."""
        return self._by_month(
            (e.collected_at, e.invoice.total) for e in outcome.invoices if e.collected_at
        )

    def _by_month(self, amounts: Iterable[tuple[datetime, int]]) -> list[int]:
        index = {month: i for i, month in enumerate(self.months)}
        totals = [0] * len(self.months)
        for at, amount in amounts:
            slot = index.get(self.month_of(at))
            if slot is not None and at < self.until:
                totals[slot] += amount
        return totals


# -- the plans ---------------------------------------------------------------------------------


def own_policy(scenario: Scenario) -> Policy:
    preset = scenario.plan_data.get("preset")
    label = f"own plan ({preset})" if isinstance(preset, str) else "own plan"
    return Policy(label, dict(scenario.plan_data), scenario.plan)


def file_policy(label: str, plan: Plan, definition: dict[str, Any]) -> Policy:
    return Policy(label, definition, plan)


def preset_policy(scenario: Scenario, name: str) -> Policy:
    """The preset ``name`` at the scenario plan's price, currency, credits and seat name. A
    preset sets policy, never a price: a price per year becomes a twelfth per month (rounded
    half up to the currency's minor unit), a price per month twelve times per year."""
    if name not in PRESETS:
        raise CompareError(
            f"--preset: unknown preset {name!r} (known: {', '.join(preset_names())})"
        )
    own, cur = scenario.plan, scenario.plan.currency
    interval = PRESETS[name]["interval"]
    factor = Fraction(1)
    if own.interval == "year" and interval == "month":
        factor = Fraction(1, 12)
    elif own.interval == "month" and interval == "year":
        factor = Fraction(12)
    definition: dict[str, Any] = {"preset": name, "currency": cur.code}
    tiers = own.pricing.tiers
    if own.pricing.is_flat:
        definition["price"] = cur.format(round_half_up(tiers[0].price * factor))
    else:
        definition["tiers"] = [
            {"from": tier.first, "price": cur.format(round_half_up(tier.price * factor))}
            for tier in tiers
        ]
        definition["tiers_mode"] = own.pricing.mode
    if "credits" in scenario.plan_data:
        definition["credits"] = scenario.plan_data["credits"]
    if own.seat_name != "Seat":
        definition["seat_name"] = own.seat_name
    return Policy(name, definition, parse_plan(definition))


def unique_labels(policies: Sequence[Policy]) -> list[Policy]:
    """Policies with distinct labels: a repeated one gets `` (2)``, `` (3)``…"""
    seen: dict[str, int] = {}
    out = []
    for policy in policies:
        count = seen[policy.label] = seen.get(policy.label, 0) + 1
        label = policy.label if count == 1 else f"{policy.label} ({count})"
        out.append(Policy(label, policy.definition, policy.plan))
    return out


# -- billing each plan ---------------------------------------------------------------------------


def compare(scenario: Scenario, policies: Sequence[Policy]) -> Comparison:
    """Bill the scenario's history under each policy, in order; the first is the baseline."""
    if not policies:
        raise CompareError("name at least one plan to compare (--plan FILE or --preset NAME)")
    cur = scenario.plan.currency
    for policy in policies:
        if policy.plan.currency != cur:
            raise CompareError(
                f"{policy.label} bills in {policy.plan.currency.code} and the scenario in "
                f"{cur.code}: compare plans of one currency"
            )
    outcomes = tuple(_outcome(scenario, policy) for policy in unique_labels(policies))
    tz = scenario.account.timezone
    start = scenario.account.service_start
    first = local_date(min(start, scenario.until), tz).replace(day=1)
    last = local_date(scenario.until - timedelta(microseconds=1), tz).replace(day=1)
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
    return Comparison(scenario.name, cur, start, scenario.until, tuple(months), outcomes, tz)


def _outcome(scenario: Scenario, policy: Policy) -> Outcome:
    account, plan, until = scenario.account, policy.plan, scenario.until
    try:
        run = bill_and_collect(plan, account, scenario.events, scenario.methods, until)
    except SeatwiseError as error:
        raise CompareError(f"{policy.label}: {error}") from None
    purchases = purchases_collection(scenario.events)
    invoices = []
    for number, invoice, status in zip(
        run.numbers, run.billing.invoices, run.statuses, strict=True
    ):
        if invoice.issued_at >= until:
            continue
        owed = receivable(plan, number, invoice, purchases)
        collected = run.collection.paid_at(owed)
        if collected is None and owed.collection == "send_invoice":
            collected = invoice.due_at
        invoices.append(BilledInvoice(number, invoice, status, collected))
    start = account.service_start
    changes = [event for event in scenario.events if isinstance(event, MemberChange)]
    occupancy = occupancy_steps(changes, plan.count_invited, start, until)
    billed = billed_steps(plan, run.billing.invoices, run.billing.state, start, until)
    schedule = make_schedule(start, plan.anchor_delay_hours, plan.interval, account.timezone)
    terms = []
    index = 0
    while schedule.boundary(index) < until:
        term = schedule.term(index)
        inside = [e.invoice.total for e in invoices if term.start <= e.invoice.issued_at < term.end]
        terms.append((term, sum(inside)))
        index += 1
    return Outcome(
        policy,
        tuple(invoices),
        run.billing.state,
        tuple(occupancy),
        tuple(billed),
        seat_days(occupancy, billed, start, until),
        tuple(terms),
    )
