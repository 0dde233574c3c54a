"""What a scenario gives (SPEC section 9): :func:`run_scenario` bills and collects it with the
pure core and the test gateway, and :func:`document` is the JSON document of its invoices,
notifications and the account's state, as ``seatwise simulate`` prints it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seatwise.core.billing import BillingResult
from seatwise.core.dunning import PaymentError
from seatwise.core.errors import TimelineError
from seatwise.core.invoicing import Invoice
from seatwise.core.money import Currency
from seatwise.core.notifications import Notification
from seatwise.core.payments import bill_and_collect
from seatwise.core.periods import iso
from seatwise.scenario import Scenario
from seatwise.yaml_source import SourceError


@dataclass(frozen=True)
class SimulationResult:
    scenario: Scenario
    billing: BillingResult
    numbers: tuple[str, ...]
    statuses: tuple[str, ...]
    credits: tuple[int, int] | None = None  # (balance, assigned) from a stored ledger
    notifications: tuple[Notification, ...] = ()


def run_scenario(scenario: Scenario) -> SimulationResult:
    """Bill and collect the scenario from its subscription to ``until`` with the pure core
    and the test gateway."""
    try:
        run = bill_and_collect(
            scenario.plan,
            scenario.account,
            scenario.events,
            scenario.methods,
            scenario.until,
            scenario.webhooks,
            scenario.payments,
        )
    except PaymentError as error:
        raise scenario.payment_error(error) from None
    except TimelineError as error:
        raise SourceError(scenario.file, None, str(error)) from None
    return SimulationResult(
        scenario, run.billing, run.numbers, run.statuses, notifications=run.notifications
    )


def notification_json(note: Notification) -> dict[str, Any]:
    return {
        "at": iso(note.at),
        "kind": note.kind,
        "channel": note.channel,
        "to": list(note.to),
        "invoice": note.invoice,
        **note.details,
    }


def invoice_json(
    cur: Currency, number: str | None, status: str, invoice: Invoice
) -> dict[str, Any]:
    """One invoice as the JSON document of SPEC section 9 shows it."""
    return {
        "number": number,
        "kind": invoice.kind,
        "status": status,
        "issued_at": iso(invoice.issued_at),
        "due_at": iso(invoice.due_at),
        "period_start": iso(invoice.period.start),
        "period_end": iso(invoice.period.end),
        "lines": [
            {
                "kind": line.kind,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": None if line.unit_price is None else cur.format(line.unit_price),
                "period_start": iso(line.period.start),
                "period_end": iso(line.period.end),
                "amount": cur.format(line.amount),
            }
            for line in invoice.lines
        ],
        "total": cur.format(invoice.total),
    }


def document(result: SimulationResult) -> dict[str, Any]:
    """The JSON document of SPEC section 9."""
    scenario, billing = result.scenario, result.billing
    cur = scenario.plan.currency
    invoices = [
        invoice_json(cur, number, status, invoice)
        for invoice, number, status in zip(
            billing.invoices, result.numbers, result.statuses, strict=True
        )
    ]
    notifications = [notification_json(note) for note in result.notifications]
    state = billing.state
    balance, assigned = result.credits or (state.wallet.balance, state.wallet.assigned)
    return {
        "name": scenario.name,
        "currency": cur.code,
        "invoices": invoices,
        "notifications": notifications,
        "account": {
            "status": state.status,
            "billed_seats": state.billed_seats,
            "committed_seats": state.committed_seats,
            "credit_balance": cur.format(state.credit_balance),
            "credits": {"balance": balance, "assigned": assigned},
        },
    }
