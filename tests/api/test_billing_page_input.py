"""The billing page given what no browser of ours sends, on SQLite and PostgreSQL: every answer
is a page (HTML, never a traceback) that says what went wrong, and a refused form changes
nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import Vendor, vendor
from sqlalchemy import func, select

from seatwise.engine.billing_access import create_billing_link
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import billing_changes, contacts, invoices

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def v(database_url: str) -> Vendor:
    migrate(database_url)
    found = vendor(make_engine(database_url), T0)
    plan = {
        "preset": "seats-monthly",
        "currency": "USD",
        "price": "10.00",
        "credits": {"unit_price": "1.00"},
    }
    found.call("POST", "/v1/plans", {"id": "p", "definition": plan})
    for account, method in (("acme", "succeeds"), ("nocard", "none")):
        found.call(
            "POST",
            "/v1/accounts",
            {
                "id": account,
                "plan": "p",
                "payment_method": method,
                "contacts": ["billing@acme.example"],
                "members": [{"id": "admin", "manage_billing": True}],
            },
        )
    return found


def enter(v: Vendor, account: str = "acme") -> str:
    """Open a link in the test client (its cookie kept); the page's CSRF token."""
    link = create_billing_link(v.engine, account, "admin", v.clock)
    page = v.client.get(f"/billing/enter?token={link.token}")
    assert page.status_code == 200
    marker = 'name="csrf" value="'
    return page.text.split(marker, 1)[1].split('"', 1)[0]


def counts(v: Vendor) -> tuple[int, int, int]:
    with v.engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (invoices, contacts, billing_changes)
        )


def is_page(answer: object, status: int, says: str) -> None:
    from httpx import Response

    assert isinstance(answer, Response)
    assert answer.status_code == status, (answer.status_code, answer.text[:500])
    assert answer.headers["content-type"].startswith("text/html")
    assert says in answer.text, answer.text[:2000]
    assert "Traceback" not in answer.text


def test_without_a_session_every_page_says_how_to_get_one(v: Vendor) -> None:
    for path in (
        "/billing/",
        "/billing/invoices",
        "/billing/invoices/INV-000001",
        "/billing/credits",
    ):
        is_page(v.client.get(path), 401, "open the billing page from your product")
    v.client.cookies.set("seatwise_billing", "sw_page_" + "a" * 43 + "." + "0" * 64)
    is_page(v.client.get("/billing/"), 401, "Your billing session has ended")
    is_page(v.client.get("/billing/no-such-page"), 404, "There is no such page")
    is_page(v.client.get("/billing/enter?token=" + "x" * 500), 400, "not one the page sends")


def test_refused_forms_say_why_beside_the_form_and_change_nothing(v: Vendor) -> None:
    csrf = enter(v)
    before = counts(v)
    for credits in ("abc", "-5", "0", "99999999999", "1e3", "", "5 credits", "２０", "٢٠"):
        answer = v.client.post("/billing/credits", data={"csrf": csrf, "credits": credits})
        is_page(answer, 422, "Type")
    for emails, says in (
        ("not-an-email", "Email address 1: &#39;not-an-email&#39; is not an email address"),
        ("a@b.example\nb@\x00", "Email address 2: &#39;b@\\x00&#39; is not an email address"),
        ("x" * 400 + "@b.example", "Email address 1: is longer than 320 characters"),
    ):
        answer = v.client.post("/billing/contacts", data={"csrf": csrf, "emails": emails})
        is_page(answer, 422, says)
    for name, country, says in (
        ("", "FR", "Give the name to address invoices to."),
        ("Acme\x00", "FR", "control characters"),
        ("Acme", "France", "is not a country code like FR"),
    ):
        form = {"csrf": csrf, "name": name, "lines": "1 rue X", "country": country, "tax_id": ""}
        is_page(v.client.post("/billing/address", data=form), 422, says)
    answer = v.client.post("/billing/payment-method", data={"csrf": csrf, "method": "gold-card"})
    is_page(answer, 422, "is not one the test gateway knows")
    too_long = {"csrf": csrf, "name": "x" * 201, "lines": "", "country": "", "tax_id": ""}
    is_page(v.client.post("/billing/address", data=too_long), 400, "not one the page sends")
    is_page(v.client.post("/billing/contacts", data={"emails": "a@b.example"}), 400, "missing")
    forged = {"csrf": "forged", "emails": "a@b.example"}
    is_page(v.client.post("/billing/contacts", data=forged), 403, "out of date")
    is_page(v.client.get("/billing/?credits=" + "9" * 40), 400, "not one the page sends")
    is_page(v.client.get("/billing/invoices?after=INV-424242"), 404, "no invoice")
    is_page(v.client.get("/billing/invoices/INV-424242/invoice.pdf"), 404, "no invoice")
    assert counts(v) == before


def test_no_payment_method_no_checkout(v: Vendor) -> None:
    csrf = enter(v, "nocard")
    quoted = v.client.get("/billing/?credits=20")
    is_page(quoted, 200, "20 credits cost $20.00")
    assert 'value="20" disabled>Buy 20 credits for $20.00' in quoted.text
    assert "Add a payment method" in quoted.text
    before = counts(v)
    answer = v.client.post("/billing/credits", data={"csrf": csrf, "credits": "20"})
    is_page(answer, 409, "has no payment method on file")
    assert counts(v) == before


def test_an_unexpected_failure_is_a_page_with_an_error_id(
    v: Vendor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from seatwise.web import pages

    def broken(*_: object) -> None:
        raise RuntimeError("a bug deep inside")

    enter(v)
    monkeypatch.setattr(pages, "billing_overview", broken)
    answer = v.client.get("/billing/")
    is_page(answer, 500, "Something went wrong")
    assert "a bug deep inside" not in answer.text
    error_id = answer.text.split("error id ", 1)[1][:12]
    assert any(error_id in record.getMessage() for record in caplog.records)


def test_when_billing_is_behind_the_next_invoice_is_the_one_due_and_not_issued(v: Vendor) -> None:
    """acme subscribed on 1 January (one seat, $10.00 a month; its initial invoice issued
    when it was created); on 15 March no billing run has issued the renewals of 1 February and
    1 March: its next invoice is February's, due — not the renewal of 1 April. Once billed,
    the renewal of 1 April."""
    v.clock.instant = datetime(2025, 3, 15, tzinfo=UTC)
    due = {"kind": "renewal", "issued_at": "2025-02-01T00:00:00Z", "total": "10.00", "due": True}
    assert v.call("GET", "/v1/accounts/acme")["next_invoice"] == due
    enter(v)
    is_page(v.client.get("/billing/"), 200, "not issued yet (it is issued at the next billing run)")
    v.call("POST", "/v1/billing-runs", {"account": "acme"})
    assert v.call("GET", "/v1/accounts/acme")["next_invoice"] == {
        "kind": "renewal",
        "issued_at": "2025-04-01T00:00:00Z",
        "total": "10.00",
        "due": False,
    }
    page = v.client.get("/billing/")
    is_page(page, 200, "Next invoice: <strong>renewal</strong> on")
    assert "not issued yet" not in page.text
