"""Shapes several resources share: invoices (an account's page shows them too), instants and
money as the API writes them (ISO 8601 in UTC with ``Z``; decimal strings with the currency's
digits, beside the currency's code)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from seatwise.core.errors import FieldError, InvalidAmount
from seatwise.core.invoicing import Line
from seatwise.core.money import Currency
from seatwise.core.periods import iso
from seatwise.engine.queries import InvoiceDetails
from seatwise.store.repository import StoredInvoice


def when(at: datetime | None) -> str | None:
    return None if at is None else iso(at)


def amount_in(cur: Currency, text: str, field: str = "amount") -> int:
    """A decimal string of the body's ``field`` in minor units of ``cur``; a malformed one is
    a validation error of that field (422 with ``errors: [{field, reason}]``)."""
    try:
        return cur.parse(text)
    except InvalidAmount as error:
        raise FieldError(field, str(error)) from None


class Explanation(BaseModel):
    summary: str
    members: list[str]
    events: list[dict[str, str]]


class LineOut(BaseModel):
    kind: str
    description: str
    quantity: int
    unit_price: str | None = Field(description="Decimal string; null when seats differ in price")
    amount: str
    period_start: str
    period_end: str
    corrects: str | None = None
    explanation: Explanation | None = None


class CreditNoteOut(BaseModel):
    number: str
    amount: str
    reason: str
    issued_at: str


class StatusChangeOut(BaseModel):
    at: str
    from_status: str | None
    to_status: str
    reason: str


class InvoiceOut(BaseModel):
    """An invoice: ``id`` is its number, or ``draft_…`` while it is a draft."""

    id: str
    number: str | None
    account: str
    kind: str
    status: str
    currency: str
    issued_at: str
    due_at: str
    period_start: str
    period_end: str
    total: str
    amount_due: str
    lines: list[LineOut]
    credit_notes: list[CreditNoteOut]
    history: list[StatusChangeOut]


def line_out(cur: Currency, line: Line, explained: bool) -> LineOut:
    return LineOut(
        kind=line.kind,
        description=line.description,
        quantity=line.quantity,
        unit_price=None if line.unit_price is None else cur.format(line.unit_price),
        amount=cur.format(line.amount),
        period_start=iso(line.period.start),
        period_end=iso(line.period.end),
        corrects=line.corrects,
        explanation=Explanation(
            summary=line.explanation.summary,
            members=list(line.explanation.members),
            events=[
                {"at": iso(c.at), "member": c.member, "action": c.action}
                for c in line.explanation.changes
            ],
        )
        if explained
        else None,
    )


def invoice_id(stored: StoredInvoice) -> str:
    return stored.number if stored.number is not None else f"draft_{stored.id}"


def invoice_out(details: InvoiceDetails, explained: bool = False) -> InvoiceOut:
    stored, cur = details.stored, details.currency
    invoice = stored.invoice
    return InvoiceOut(
        id=invoice_id(stored),
        number=stored.number,
        account=stored.account_id,
        kind=invoice.kind,
        status=stored.status,
        currency=cur.code,
        issued_at=iso(invoice.issued_at),
        due_at=iso(invoice.due_at),
        period_start=iso(invoice.period.start),
        period_end=iso(invoice.period.end),
        total=cur.format(invoice.total),
        amount_due=cur.format(details.amount_due),
        lines=[line_out(cur, line, explained) for line in invoice.lines],
        credit_notes=[
            CreditNoteOut(
                number=note.number,
                amount=cur.format(note.amount),
                reason=note.reason,
                issued_at=iso(note.issued_at),
            )
            for note in details.credit_notes
        ],
        history=[
            StatusChangeOut(
                at=iso(c.at), from_status=c.from_status, to_status=c.to_status, reason=c.reason
            )
            for c in details.history
        ],
    )
