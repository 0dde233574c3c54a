"""Invoices and receipts as PDF, typeset by Typst (its Python package bundles the compiler and
its fonts: nothing is downloaded, no system font is used, so every machine makes the same
bytes). The data goes to the template (``invoice.typ``) as JSON, every value as plain text;
the document's dates are the invoice's (its issue, a receipt's payment), so the same invoice in
the same state is always the same file. Money and dates are written for the vendor's locale
(Babel), the currency's symbol included (€, £, ¥)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

import typst
from babel import Locale
from sqlalchemy import Engine

from seatwise.branding import Branding
from seatwise.core.dunning import invoice_collection
from seatwise.core.errors import SeatwiseError
from seatwise.core.invoice_states import DRAFT, PAID, UNCOLLECTIBLE, VOID
from seatwise.core.money import Currency
from seatwise.core.payments import purchases_collection
from seatwise.core.periods import Period, local_date
from seatwise.engine.addresses import address_at
from seatwise.engine.payments import Receipt, receipts
from seatwise.engine.queries import InvoiceDetails, explain_invoice
from seatwise.store import repository
from seatwise.store.database import read_connection
from seatwise.store.repository import BillingAddress, StoredAccount

TEMPLATE = (resources.files("seatwise.documents") / "invoice.typ").read_bytes()
FONT = "Libertinus Serif"  # the template's text font, bundled with Typst

# Characters Babel writes in amounts that the bundled fonts lack: the fullwidth signs (ja_JP
# writes ￥) have a narrow twin, the reversed comma (a Sindhi group separator) a comma; an
# amount with any other (元, ja's yuan) is written with its currency's ISO code.
_NARROW = str.maketrans({"\uffe5": "¥", "\uffe6": "₩", "\u2e41": ","})
_NO_GLYPH = frozenset("元")


def pdf_money(branding: Branding, cur: Currency, minor: int) -> str:
    """An amount as the locale writes it, in glyphs the PDF's fonts have."""
    said = branding.money(cur, minor).translate(_NARROW)
    if _NO_GLYPH.isdisjoint(said):
        return said
    return branding.money_by_code(cur, minor)


class NoReceipt(SeatwiseError):
    """An invoice that was not paid has no receipt."""


@dataclass(frozen=True)
class Context:
    """What a document needs besides the invoice: the account, the address it had when the
    document was issued, and the vendor."""

    account: StoredAccount
    branding: Branding
    address: BillingAddress | None = None

    def day(self, at: datetime) -> str:
        return self.branding.day(local_date(at, self.account.account.timezone))


def customer_lines(
    account: StoredAccount, branding: Branding, address: BillingAddress | None
) -> list[str]:
    if address is None:
        return [account.id, *account.account.contacts[:1]]
    lines = [address.name, *address.lines]
    if address.country:
        locale = Locale.parse(branding.locale)
        lines.append(str(locale.territories.get(address.country, address.country)))
    if address.tax_id:
        lines.append(f"Tax ID {address.tax_id}")
    return lines


def _vendor(branding: Branding) -> dict[str, Any]:
    return {
        "name": branding.name,
        "address": list(branding.address),
        "support": branding.support_email,
    }


def _typeset(data: dict[str, Any], branding: Branding, at: datetime) -> bytes:
    root = None
    data["logo"] = None
    if branding.logo is not None:
        root, data["logo"] = str(branding.logo.parent), "/" + branding.logo.name
    compile_: Any = typst.compile  # its stub ties `root` to the input's type (bytes here)
    pdf: bytes = compile_(
        TEMPLATE,
        root=root,
        sys_inputs={"data": json.dumps(data, ensure_ascii=False)},
        timestamp=int(at.timestamp()),
        ignore_system_fonts=True,
    )
    return pdf


def render_invoice(details: InvoiceDetails, context: Context, paid: Receipt | None = None) -> bytes:
    """The PDF of an invoice in its current state: lines, total, credit notes, amount due, and
    PAID with the date and receipt number, VOID, or how to pay it."""
    stored, cur, brand = details.stored, details.currency, context.branding
    invoice = stored.invoice

    def money(minor: int) -> str:
        return pdf_money(brand, cur, minor)

    number = stored.number or "DRAFT"
    stamp = None
    if stored.status == PAID:
        detail = context.day(paid.paid_at) if paid else ""
        if paid is not None and paid.receipt:
            detail += f" · {paid.receipt}"
        stamp = {"title": "PAID", "detail": detail}
    elif stored.status == VOID:
        stamp = {"title": "VOID", "detail": "nothing is owed"}
    elif stored.status == UNCOLLECTIBLE:
        stamp = {"title": "UNCOLLECTIBLE", "detail": "written off"}
    notes = []
    unpaid = stored.status not in (PAID, VOID, DRAFT) and details.amount_due > 0
    if unpaid and _charged(context.account, invoice.kind, invoice.period.start):
        notes.append("This invoice is charged to your payment method on file.")
    elif unpaid:
        notes.append(
            f"{brand.payment_instructions} Amount due: {money(details.amount_due)} by "
            f"{context.day(invoice.due_at)}; reference {number}."
        )
    if brand.support_email:
        notes.append(f"Questions about this invoice: {brand.support_email}.")
    totals: list[list[Any]] = [["Total", money(invoice.total), True]]
    for note in details.credit_notes:
        totals.append([f"Credit note {note.number}: {note.reason}", money(-note.amount), False])
    totals.append(["Amount due", money(details.amount_due), True])
    data = {
        "title": f"Invoice {number}",
        "heading": "Draft invoice" if stored.status == DRAFT else "Invoice",
        "number": number,
        "accent": brand.accent,
        "vendor": _vendor(brand),
        "customer": customer_lines(context.account, brand, context.address),
        "stamp": stamp,
        "facts": [
            ["Invoice date", context.day(invoice.issued_at)],
            ["Due date", context.day(invoice.due_at)],
            ["Period", _period(context, invoice.period)],
            ["Account", stored.account_id],
            ["Currency", cur.code],
        ],
        "columns": ["Description", "Quantity", "Unit price", "Amount"],
        "lines": [
            {
                "description": line.description,
                "quantity": str(line.quantity),
                "unit_price": "" if line.unit_price is None else money(line.unit_price),
                "amount": money(line.amount),
            }
            for line in invoice.lines
        ],
        "totals": totals,
        "notes": notes,
        "labels": {"page": "Page", "billed_to": "Billed to"},
    }
    return _typeset(data, brand, invoice.issued_at)


def _period(context: Context, period: Period) -> str:
    """``1 Mar 2025 – 1 Apr 2025``, or one day for an instant's invoice (credits)."""
    start, end = context.day(period.start), context.day(period.end)
    return start if start == end else f"{start} – {end}"


def _charged(account: StoredAccount, kind: str, purchased_at: datetime) -> bool:
    purchases = purchases_collection(account.events)
    how = invoice_collection(account.plan, kind, purchased_at, purchases)
    return how == "charge_automatically"


def render_receipt(details: InvoiceDetails, context: Context, paid: Receipt) -> bytes:
    """The PDF of a receipt: the payment of an invoice, how and when."""
    stored, cur, brand = details.stored, details.currency, context.branding
    invoice = stored.invoice
    period = _period(context, invoice.period)
    data = {
        "title": f"Receipt {paid.receipt}",
        "heading": "Receipt",
        "number": paid.receipt,
        "accent": brand.accent,
        "vendor": _vendor(brand),
        "customer": customer_lines(context.account, brand, context.address),
        "stamp": {"title": "PAID", "detail": context.day(paid.paid_at)},
        "facts": [
            ["Received", context.day(paid.paid_at)],
            ["Invoice", stored.number or ""],
            ["Payment", paid.how],
            ["Account", stored.account_id],
        ],
        "columns": ["Description", "Quantity", "Unit price", "Amount"],
        "lines": [
            {
                "description": f"Payment of invoice {stored.number} ({invoice.kind}, {period})",
                "quantity": "1",
                "unit_price": pdf_money(brand, cur, paid.amount_minor),
                "amount": pdf_money(brand, cur, paid.amount_minor),
            }
        ],
        "totals": [["Amount received", pdf_money(brand, cur, paid.amount_minor), True]],
        "notes": [f"Thank you. Reference {paid.reference}."] if paid.reference else ["Thank you."],
        "labels": {"page": "Page", "billed_to": "Received from"},
    }
    return _typeset(data, brand, paid.paid_at)


def _context(engine: Engine, account_id: str, at: datetime, branding: Branding | None) -> Context:
    with read_connection(engine) as connection:
        account = repository.load_account(connection, account_id)
        address = address_at(connection, account, at)
    return Context(account, branding or Branding.from_environment(), address)


def invoice_pdf(engine: Engine, number: str, branding: Branding | None = None) -> bytes:
    """Invoice ``number`` as a PDF (the account scope applies: another account's is unknown),
    addressed as the account was when it was issued."""
    details = explain_invoice(engine, number)
    paid = receipts(engine, number)
    stored = details.stored
    context = _context(engine, stored.account_id, stored.invoice.issued_at, branding)
    return render_invoice(details, context, paid[-1] if paid else None)


def receipt_pdf(engine: Engine, number: str, branding: Branding | None = None) -> bytes:
    """The receipt of invoice ``number`` (its latest payment) as a PDF."""
    details = explain_invoice(engine, number)
    paid = receipts(engine, number)
    if not paid:
        raise NoReceipt(f"{number} is not paid: it has no receipt yet")
    context = _context(engine, details.stored.account_id, paid[-1].paid_at, branding)
    return render_receipt(details, context, paid[-1])
