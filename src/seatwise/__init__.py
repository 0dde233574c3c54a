"""Seatwise: a billing engine for per-seat SaaS plans and prepaid credits.

The pure core is usable without a database::

    from datetime import datetime, UTC
    import seatwise

    plan = seatwise.parse_plan({"preset": "seats-annual", "currency": "EUR", "price": "108.00"})
    start = datetime(2021, 2, 15, tzinfo=UTC)
    account = seatwise.Account(subscribed_at=start)
    events = [seatwise.MemberChange(start, f"m{i}", "activate") for i in range(80)]
    result = seatwise.generate_invoices(plan, account, events, until=start)
    assert result.invoices[0].total == 864000   # minor units: €8,640.00

Credits: :func:`quote` prices a purchase by a plan's credit tiers; :class:`Wallet` is the
ledger of one account's credits; ``BuyCredits``, ``Assign``, ``Start`` and ``Unassign`` are
timeline events that :func:`generate_invoices` bills (``credits`` invoices, overage).

The engine over a database lives in :mod:`seatwise.engine` (billing runs, recording events,
the invoice lifecycle, credits with their stored ledger, projected and explained invoices) and
:mod:`seatwise.store`.
"""

from seatwise.core.account import Account, Cancel, Terminate, Uncancel
from seatwise.core.billing import AccountState, BillingResult, generate_invoices
from seatwise.core.credit_billing import CreditAlert
from seatwise.core.credits import (
    Assign,
    BuyCredits,
    CreditEntry,
    CreditError,
    CreditsPaid,
    Quote,
    Start,
    Unassign,
    Wallet,
    quote,
)
from seatwise.core.dunning import MethodChange
from seatwise.core.errors import (
    InvalidAmount,
    PlanError,
    SeatwiseError,
    TimelineError,
)
from seatwise.core.gateway import ChargeOutcome, ChargeRequest, PaymentGateway, TestGateway
from seatwise.core.invoice_states import InvoiceStateError
from seatwise.core.invoicing import Explanation, Invoice, Line, settle
from seatwise.core.money import Currency, currency, round_half_up
from seatwise.core.notifications import Notification
from seatwise.core.payments import CollectedBilling, bill_and_collect
from seatwise.core.periods import Period
from seatwise.core.plans import Plan, parse_plan
from seatwise.core.presets import PRESETS
from seatwise.core.projection import Projection, project_invoice
from seatwise.core.reconcile import IssuedInvoice, Reconciliation, reconcile
from seatwise.core.seat_timeline import Member, MemberChange, SeatTimeline
from seatwise.scenario import Scenario, load_scenario, parse_scenario
from seatwise.scenario_result import document, run_scenario
from seatwise.yaml_source import SourceError

__all__ = [
    "PRESETS",
    "Account",
    "AccountState",
    "Assign",
    "BillingResult",
    "BuyCredits",
    "Cancel",
    "ChargeOutcome",
    "ChargeRequest",
    "CollectedBilling",
    "CreditAlert",
    "CreditEntry",
    "CreditError",
    "CreditsPaid",
    "Currency",
    "Explanation",
    "InvalidAmount",
    "Invoice",
    "InvoiceStateError",
    "IssuedInvoice",
    "Line",
    "Member",
    "MemberChange",
    "MethodChange",
    "Notification",
    "PaymentGateway",
    "Period",
    "Plan",
    "PlanError",
    "Projection",
    "Quote",
    "Reconciliation",
    "Scenario",
    "SeatTimeline",
    "SeatwiseError",
    "SourceError",
    "Start",
    "Terminate",
    "TestGateway",
    "TimelineError",
    "Unassign",
    "Uncancel",
    "Wallet",
    "bill_and_collect",
    "currency",
    "document",
    "generate_invoices",
    "load_scenario",
    "parse_plan",
    "parse_scenario",
    "project_invoice",
    "quote",
    "reconcile",
    "round_half_up",
    "run_scenario",
    "settle",
]
