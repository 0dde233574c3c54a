"""Payment gateways (SPEC 8): the interface the engine charges through, and the test gateway.

A payment method is named by a token the gateway understands. The built-in **test gateway**
knows the tokens scenario files use:

* ``succeeds`` — every charge succeeds;
* ``declines`` — every charge is declined;
* ``declines_first_N`` — the first N charges on this method are declined, then they succeed
  (a new method set later starts counting again);
* ``none`` — no payment method on file: nothing can be charged.

:func:`test_method_outcome` is the test gateway's rule as a pure function, so simulations and tests
stay deterministic; :class:`TestGateway` wraps it with the count of charges per method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from seatwise.core.records import quick_init

DECLINES_FIRST = re.compile(r"^declines_first_([1-9][0-9]*)\Z")
TEST_METHODS = re.compile(r"^(succeeds|declines|none|declines_first_[1-9][0-9]*)\Z")


@quick_init
@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    """What the gateway answered: ``succeeded``, in words why not, and its own reference for
    the payment (a charge id) when it has one."""

    succeeded: bool
    reason: str = ""
    reference: str = ""


@quick_init
@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """One charge: ``amount`` minor units of ``currency`` to ``method`` for ``invoice`` of
    ``account``, its ``attempt``-th; ``method_charges`` is how many charges the method has had
    since it was set (the test gateway's rule needs it; a real one may ignore it).
    ``invoice_key`` names the invoice by what makes it unique for its account (kind and
    period), which no renumbering changes. ``invoice`` is ``""`` when the billing run making
    the charge also issued the invoice: it is numbered when the run's transaction commits."""

    account: str
    invoice: str
    attempt: int
    method: str
    amount: int
    currency: str
    at: datetime
    method_charges: int = 0
    invoice_key: str = ""

    @property
    def idempotency_key(self) -> str:
        """The same for a charge tried again after a crash or a rolled-back run, whatever
        number the invoice gets then: a gateway that honours it charges once
        (``acme/renewal/2025-01-05T09:00:00Z/2026-01-05T09:00:00Z/2``: the renewal's second
        attempt). Without an ``invoice_key``: ``INV-000042/2``."""
        return f"{self.invoice_key or self.invoice}/{self.attempt}"


class PaymentGateway(Protocol):
    """Charges a payment method; must not raise for a declined charge (that is an outcome)."""

    def charge(self, request: ChargeRequest) -> ChargeOutcome: ...


def test_method_outcome(method: str, earlier_charges: int) -> ChargeOutcome:
    """The test gateway's answer for a charge to ``method`` after ``earlier_charges`` charges
    to the same method."""
    if method == "succeeds":
        return ChargeOutcome(True)
    if method == "none":
        return ChargeOutcome(False, "no payment method on file")
    if method == "declines":
        return ChargeOutcome(False, "card declined")
    match = DECLINES_FIRST.match(method)
    if match is None:
        return ChargeOutcome(False, f"unknown payment method {method!r}")
    if earlier_charges < int(match.group(1)):
        return ChargeOutcome(False, "card declined")
    return ChargeOutcome(True)


test_method_outcome.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


class TestGateway:
    """The built-in test gateway: :func:`test_method_outcome`, deterministic, and with no state
    of its own (the engine tells it how often the method was charged), so a simulation and a
    billing run in another process agree."""

    __test__ = False  # not a pytest test class, despite its name

    # What the billing page offers a customer (a real gateway has its own form instead).
    method_choices = (
        ("succeeds", "Test card, always paid (succeeds)"),
        ("declines", "Test card, always declined (declines)"),
        ("declines_first_1", "Test card, declined once (declines_first_1)"),
    )

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        outcome = test_method_outcome(request.method, request.method_charges)
        if outcome.succeeded:
            return ChargeOutcome(True, reference=f"test_{request.idempotency_key}")
        return outcome
