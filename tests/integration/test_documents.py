"""Invoices and receipts as PDF (SPEC 6): golden text for SPEC 9's second interim invoice,
written by hand; a 200-line invoice over several pages with its header on each; yen and euros
written per currency and locale; the same bytes for the same invoice; the billing address in
effect when an invoice was issued."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import Engine

from seatwise.branding import Branding
from seatwise.documents.pdf import NoReceipt, invoice_pdf, receipt_pdf
from seatwise.engine.accounts import AccountChanges, update_account
from seatwise.engine.billing_run import bill
from seatwise.engine.clock import FixedClock
from seatwise.engine.simulation import simulate
from seatwise.scenario import load_scenario, parse_scenario
from seatwise.store.database import make_engine, migrate
from seatwise.store.repository import BillingAddress

SCENARIOS = Path(__file__).parents[1] / "scenarios"
NORTHWIND = Branding(
    name="Northwind Seats Ltd",
    address=("1 Harbour Street", "Dublin D02 X285", "Ireland"),
    support_email="billing@northwind.example",
    locale="en_IE",
)


def text(pdf: bytes) -> list[str]:
    """The text of every page."""
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'documents.db'}"
    migrate(url)
    return make_engine(url)


def test_spec9_second_interim_invoice_golden_text(engine: Engine) -> None:
    # SPEC 9: 81 → 83 members on 15 Mar 09:00 (337 days left of the term ending 15 Feb 2022),
    # ana invited on 2 Apr (319 days left): 83×108×337/365 = 8,276.35; 81×108×337/365 =
    # 8,076.92; 84×108×319/365 = 7,928.68; 83×108×319/365 = 7,834.29; total 293.82, charged
    # at once to `succeeds` on the interim's issue, 15 Apr 2021 (the 3rd receipt).
    simulate(load_scenario(SCENARIOS / "spec9_contract_two_interims.yaml"), engine, "acme")
    pdf = invoice_pdf(engine, "INV-000003", NORTHWIND)
    assert text(pdf) == [
        "Northwind Seats Ltd\n"
        "1 Harbour Street\n"
        "Dublin D02 X285\n"
        "Ireland\n"
        "billing@northwind.example\n"
        "Invoice\n"
        "INV-000003\n"
        "PAID\n"
        "15 Apr 2021 · RCT-000003\n"
        "Billed to\n"
        "acme\n"
        "billing@acme.example\n"
        "Invoice date 15 Apr 2021\n"
        "Due date 15 May 2021\n"
        "Period 15 Mar 2021 – 15 Apr 2021\n"
        "Account acme\n"
        "Currency EUR\n"
        "Description Quantity Unit price Amount\n"
        "Remaining time on 83 × Seat after 15 Mar 2021 83 €108.00 €8,276.35\n"
        "Unused time on 81 × Seat after 15 Mar 2021 81 €108.00 -€8,076.92\n"
        "Remaining time on 84 × Seat after 2 Apr 2021 84 €108.00 €7,928.68\n"
        "Unused time on 83 × Seat after 2 Apr 2021 83 €108.00 -€7,834.29\n"
        "Total €293.82\n"
        "Amount due €0.00\n"
        "Questions about this invoice: billing@northwind.example.\n"
        "Northwind Seats Ltd — Invoice INV-000003 Page 1 / 1"
    ]
    receipt = text(receipt_pdf(engine, "INV-000003", NORTHWIND))[0]
    for said in (
        "Receipt\nRCT-000003\nPAID\n15 Apr 2021\nReceived from\nacme\n",
        "Invoice INV-000003\nPayment charged to payment method succeeds\n",
        "Payment of invoice INV-000003 (interim, 15 Mar 2021 – 15 Apr 2021) 1 €293.82 €293.82\n",
        "Amount received €293.82\n",
    ):
        assert said in receipt
    assert invoice_pdf(engine, "INV-000003", NORTHWIND) == pdf  # the same bytes, every time


def test_an_unpaid_invoice_has_no_receipt_and_says_how_to_pay(engine: Engine) -> None:
    # licences-annual sends its invoices for payment by transfer: 10 × €120.00, due 31 Jan
    scenario = parse_scenario(
        "name: sent\n"
        "plan: {preset: licences-annual, currency: EUR, price: '120.00'}\n"
        "account: {subscribed_at: 2025-01-01T00:00:00Z, committed_seats: 10}\n"
        "members:\n  - {count: 10}\n"
        "until: 2025-01-02T00:00:00Z\n",
        "sent.yaml",
    )
    simulate(scenario, engine, "acme")
    brand = Branding(name="Northwind", payment_instructions="Pay to IBAN IE29 AIBK 9311 5212.")
    page = text(invoice_pdf(engine, "INV-000001", brand))[0]
    assert (
        "Pay to IBAN IE29 AIBK 9311 5212. Amount due: $1,200.00 by Jan 31, 2025; reference\n"
        "INV-000001." in page.replace("€", "$")
    ) or "Amount due: €1,200.00 by Jan 31, 2025" in page
    assert "PAID" not in page
    with pytest.raises(NoReceipt, match="is not paid"):
        receipt_pdf(engine, "INV-000001", brand)


def test_two_hundred_lines_paginate_with_the_header_on_every_page(engine: Engine) -> None:
    # contract-annual: 100 activations in the first month, an hour apart, each a pair of
    # remaining/unused lines on the monthly interim of 1 Feb: 200 lines.
    events = "\n".join(
        f"  - {{at: 2025-01-02T{hour % 24:02d}:{minute:02d}:00Z, activate: [n{index}]}}"
        for index, (hour, minute) in enumerate(((i // 60), i % 60) for i in range(100))
    )
    scenario = parse_scenario(
        "name: many lines\n"
        "plan: {preset: contract-annual, currency: EUR, price: '120.00'}\n"
        "account: {subscribed_at: 2025-01-01T00:00:00Z}\n"
        "members:\n  - {count: 1}\n"
        f"events:\n{events}\n"
        "until: 2025-02-01T00:00:00Z\n",
        "many.yaml",
    )
    simulate(scenario, engine, "big")
    pdf = invoice_pdf(engine, "INV-000002", NORTHWIND)
    pages = text(pdf)
    assert len(pages) >= 3
    lines = [line for page in pages for line in page.splitlines()]
    assert sum(line.startswith(("Remaining time on", "Unused time on")) for line in lines) == 200
    for number, page in enumerate(pages, start=1):
        if "time on" in page:  # a page of lines repeats the table's header
            assert "Description Quantity Unit price Amount" in page
        assert page.endswith(f"Page {number} / {len(pages)}")
    assert "Total" in pages[-1]


def test_yen_and_euros_are_written_for_their_currency_and_locale(engine: Engine) -> None:
    # JPY has no minor unit: 12 seats × ¥1,200 = ¥14,400. EUR in German: 3 × 108,00 € = 324,00 €
    for account, currency, price in (("yen", "JPY", "1200"), ("euro", "EUR", "108.00")):
        scenario = parse_scenario(
            "name: money\n"
            f"plan: {{preset: seats-monthly, currency: {currency}, price: '{price}'}}\n"
            "account: {subscribed_at: 2025-01-01T00:00:00Z}\n"
            f"members:\n  - {{count: {12 if currency == 'JPY' else 3}}}\n"
            "until: 2025-01-01T00:00:00Z\n",
            f"{account}.yaml",
        )
        simulate(scenario, engine, account)
    yen = text(invoice_pdf(engine, "INV-000001", Branding(locale="ja_JP")))[0]
    assert "12 × Seat (at ¥1,200 / month) 12 ¥1,200 ¥14,400\n" in yen  # ja_JP's ￥, narrowed
    assert "Total ¥14,400\n" in yen and ".00" not in yen and "\x00" not in yen
    euro = text(invoice_pdf(engine, "INV-000002", Branding(locale="de_DE")))[0]
    assert "3 108,00\xa0€ 324,00\xa0€\n" in euro
    assert "Total 324,00\xa0€\n" in euro


def test_a_pdf_carries_the_billing_address_in_effect_when_it_was_issued(engine: Engine) -> None:
    scenario = parse_scenario(
        "name: addressed\n"
        "plan: {preset: seats-monthly, currency: EUR, price: '10.00'}\n"
        "account: {subscribed_at: 2025-01-01T00:00:00Z}\n"
        "members:\n  - {count: 2}\n"
        "until: 2025-02-01T00:00:00Z\n",
        "addressed.yaml",
    )
    simulate(scenario, engine, "acme")  # INV-000001 on 1 Jan, INV-000002 on 1 Feb
    before = invoice_pdf(engine, "INV-000001", NORTHWIND)
    moved = BillingAddress("Acme GmbH", ("Hauptstraße 5", "10115 Berlin"), "DE", "DE123456789")
    clock = FixedClock(scenario.until + timedelta(days=3))
    update_account(engine, "acme", AccountChanges(billing_address=moved), clock, "tests")
    assert invoice_pdf(engine, "INV-000001", NORTHWIND) == before  # as it was issued
    clock.instant = scenario.until + timedelta(days=31)
    simulate_until(engine, "acme", clock.instant)
    page = text(invoice_pdf(engine, "INV-000003", NORTHWIND))[0]
    assert "Billed to\nAcme GmbH\nHauptstraße 5\n10115 Berlin\nGermany\nTax ID DE123456789\n" in (
        page
    )


def simulate_until(engine: Engine, account: str, until: datetime) -> None:
    bill(engine, until, clock=FixedClock(until), only=[account])


def test_every_locale_writes_every_currency_in_glyphs_the_pdf_has() -> None:
    """Babel's amounts in every locale and currency, as PDFs write them, hold only characters
    the bundled font draws (a missing glyph comes out of the PDF as NUL)."""
    from babel import localedata

    from seatwise.core.money import currency, known_currencies
    from seatwise.documents.pdf import FONT, TEMPLATE, pdf_money

    assert f'font: "{FONT}"'.encode() in TEMPLATE
    written: set[str] = set()
    for locale in localedata.locale_identifiers():
        brand = Branding(locale=locale)
        for code in known_currencies():
            try:
                written.update(pdf_money(brand, currency(code), -123456789))
            except (ValueError, KeyError):  # a locale Babel cannot format money in
                continue
    assert {"€", "£", "¥", "₩", "₹"} <= written
    source = f'#set text(font: "{FONT}")\n#sys.inputs.text'.encode()
    import typst

    pdf = typst.compile(
        source, ignore_system_fonts=True, sys_inputs={"text": " ".join(sorted(written))}
    )
    drawn = "".join(text(pdf))
    assert "\x00" not in drawn
