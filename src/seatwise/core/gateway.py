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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

DECLINES_FIRST = re.compile(r"^declines_first_([1-9][0-9]*)$")
TEST_METHODS = re.compile(r"^(succeeds|declines|none|declines_first_[1-9][0-9]*)$")


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    """What the gateway answered: ``succeeded``, and in words why not."""

    succeeded: bool
    reason: str = ""


class PaymentGateway(Protocol):
    """Charges ``amount`` minor units of ``currency`` to ``method`` for ``invoice``."""

    def charge(
        self, method: str, amount: int, currency: str, invoice: str, at: datetime
    ) -> ChargeOutcome: ...


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


@dataclass
class TestGateway:
    """The built-in test gateway: :func:`test_method_outcome`, counting charges per method."""

    __test__ = False  # not a pytest test class, despite its name

    charges: dict[str, int] = field(default_factory=dict)

    def charge(
        self, method: str, amount: int, currency: str, invoice: str, at: datetime
    ) -> ChargeOutcome:
        earlier = self.charges.get(method, 0)
        self.charges[method] = earlier + 1
        return test_method_outcome(method, earlier)
