"""The API's documents and the billing page's door, on SQLite and PostgreSQL: an invoice's PDF
and its receipt (the same bytes as `seatwise pdf` and the page), refused for an unpaid
invoice's receipt; a session's one-time link opens the page once."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest
from helpers import Vendor, with_invoiced_account

from seatwise.branding import Branding
from seatwise.documents.pdf import invoice_pdf

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def v(database_url: str) -> Vendor:
    return with_invoiced_account(
        database_url,
        T0,
        billing_address={"name": "Acme Ltd", "lines": ["1 Mill Lane"], "country": "GB"},
        members=[{"id": "admin", "manage_billing": True}, {"id": "m1"}],
    )


def pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def test_an_invoice_and_its_receipt_as_pdf(v: Vendor) -> None:
    # licences-annual sends its invoices: INV-000001, 2 × £96.00 = £192.00, open until paid
    answer = v.client.get("/v1/invoices/INV-000001/pdf", headers=v.auth)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == 'attachment; filename="INV-000001.pdf"'
    text = pages(answer.content)[0]
    assert "Billed to\nAcme Ltd\n1 Mill Lane\nUnited Kingdom\n" in text
    assert "2 × Seat (at £96.00 / year) 2 £96.00 £192.00" in text
    assert "Amount due £192.00" in text and "PAID" not in text
    assert answer.content == invoice_pdf(v.engine, "INV-000001", Branding.from_environment())
    unpaid = v.client.get("/v1/invoices/INV-000001/receipt.pdf", headers=v.auth)
    assert unpaid.status_code == 409
    assert unpaid.headers["content-type"] == "application/problem+json"
    assert unpaid.json()["detail"] == "INV-000001 is not paid: it has no receipt yet"
    v.call("POST", "/v1/invoices/INV-000001/payments", {"reason": "bank transfer"})
    paid = v.client.get("/v1/invoices/INV-000001/pdf", headers=v.auth).content
    assert paid != answer.content and "PAID" in pages(paid)[0]
    assert v.client.get("/v1/invoices/INV-000001/pdf", headers=v.auth).content == paid
    receipt = v.client.get("/v1/invoices/INV-000001/receipt.pdf", headers=v.auth)
    assert receipt.status_code == 200
    assert "Amount received £192.00" in pages(receipt.content)[0]
    for missing in ("INV-999999", "draft_1", "x" * 300):
        refused = v.client.get(f"/v1/invoices/{missing}/pdf", headers=v.auth)
        assert refused.status_code in (404, 422), refused.text
        assert refused.headers["content-type"] == "application/problem+json"


def test_a_sessions_link_opens_the_billing_page_once(v: Vendor) -> None:
    made = v.call("POST", "/v1/accounts/acme/sessions", {"member": "admin"})
    assert made["link"].startswith("http://testserver/billing/enter?token=sw_link_")
    assert made["link_expires_at"] == "2025-01-01T00:15:00Z"
    entered = v.client.get(made["link"].removeprefix("http://testserver"), follow_redirects=False)
    assert entered.status_code == 303 and entered.headers["location"] == "/billing/"
    cookie = entered.headers["set-cookie"]
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/billing", "Max-Age=43200"):
        assert attribute in cookie
    page = v.client.get("/billing/")
    assert page.status_code == 200 and "Billing of acme" in page.text
    again = v.client.get(made["link"].removeprefix("http://testserver"))
    assert again.status_code == 410 and "This link was used already" in again.text
    refused = v.client.post("/v1/accounts/acme/sessions", json={"member": "m1"}, headers=v.auth)
    assert refused.status_code == 403


def tiny_png(path: Path) -> Path:
    """A 2 × 2 red PNG, written by hand (no imaging library needed)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


def test_the_vendors_logo_and_colour_brand_the_page_and_the_pdf(v: Vendor, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from seatwise.api import create_app
    from seatwise.engine.billing_access import create_billing_link

    logo = tiny_png(tmp_path / "logo.png")
    brand = Branding(name="Northwind", logo=logo, accent="#facc15")
    client = TestClient(create_app(v.engine, v.clock, branding=brand))
    link = create_billing_link(v.engine, "acme", "admin", v.clock)
    page = client.get(f"/billing/enter?token={link.token}")
    assert '<img class="logo" src="/billing/logo" alt="Northwind">' in page.text
    served = client.get("/billing/logo")
    assert served.status_code == 200 and served.content == logo.read_bytes()
    theme = client.get("/billing/theme.css").text  # black text reads on yellow
    assert "--accent: #facc15; --accent-text: #000000; --link: #1e3a8a;" in theme
    pdf = pypdf.PdfReader(io.BytesIO(invoice_pdf(v.engine, "INV-000001", brand)))
    assert len(pdf.pages[0].images) == 1
