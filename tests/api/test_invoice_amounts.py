"""Amounts sent to an invoice's routes (a payment by hand, a credit note), on SQLite and
PostgreSQL: a malformed one is a 422 problem naming the field, as every validation error is,
and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import Vendor, with_invoiced_account

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def v(database_url: str) -> Vendor:
    return with_invoiced_account(database_url, T0)  # INV-000001: £192.00, open


@pytest.mark.parametrize(
    ("route", "amount", "reason"),
    [
        ("payments", "1e400", "'1e400' is not a decimal amount (write it like \"108.00\")"),
        ("payments", "NaN", "'NaN' is not a decimal amount (write it like \"108.00\")"),
        ("payments", "192.001", "'192.001' has more decimals than GBP allows (2)"),
        ("credit-notes", "", "'' is not a decimal amount (write it like \"108.00\")"),
        (
            "credit-notes",
            "1,000.00",
            "'1,000.00' is not a decimal amount (write it like \"108.00\")",
        ),
        ("credit-notes", "0.005", "'0.005' has more decimals than GBP allows (2)"),
    ],
)
def test_a_malformed_amount_is_a_problem_of_its_field(
    v: Vendor, route: str, amount: str, reason: str
) -> None:
    body = {"amount": amount, "reason": "test"}
    answer = v.client.post(f"/v1/invoices/INV-000001/{route}", json=body, headers=v.auth)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["errors"] == [{"field": "amount", "reason": reason}]
    assert problem["detail"] == f"amount: {reason}"
    invoice = v.call("GET", "/v1/invoices/INV-000001")
    assert (invoice["status"], invoice["amount_due"], invoice["credit_notes"]) == (
        "open",
        "192.00",
        [],
    )
