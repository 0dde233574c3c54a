"""An invoice's status when it is issued, until payments are collected for real.

Nothing to pay, or a plan that charges automatically a payment method that succeeds, means
``paid`` at issue; anything else stays ``open``. (The payment gateway replaces this rule.)
"""

from __future__ import annotations

from seatwise.core.invoicing import Invoice
from seatwise.core.plans import Plan


def status_at_issue(plan: Plan, payment_method: str, invoice: Invoice) -> str:
    if invoice.total == 0:
        return "paid"
    if plan.collection == "charge_automatically" and payment_method == "succeeds":
        return "paid"
    return "open"
