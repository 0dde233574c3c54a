"""Invoices: ``/v1/invoices``. List (by account, status, kind, issue dates), get one with its
lines explained, finalize drafts, record a payment by hand, void, mark uncollectible, credit
notes, receipts, the PDFs of an invoice and of its receipt. An invoice's ``id`` is its number
(``INV-000042``), or ``draft_…``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field

from seatwise.api.bodies import Input
from seatwise.api.common import InvoiceOut, amount_in, invoice_out
from seatwise.api.context import Ctx, billing, vendor
from seatwise.api.idempotency import write
from seatwise.api.pagination import After, Limit, Page, page
from seatwise.api.problems import COMMON_RESPONSES
from seatwise.core.invoicing import INVOICE_KINDS
from seatwise.core.limits import check_instant
from seatwise.core.periods import iso
from seatwise.documents import pdf as documents
from seatwise.engine import invoice_lifecycle as lifecycle
from seatwise.engine import payments as pay
from seatwise.engine.billing_run import finalize_drafts
from seatwise.engine.queries import (
    InvoiceDetails,
    draft_details,
    explain_invoice,
    invoice_page,
    invoices_of,
)
from seatwise.store.repository import InvoiceFilter

router = APIRouter(prefix="/v1/invoices", tags=["invoices"], responses=COMMON_RESPONSES)

Kind = Literal["initial", "renewal", "arrears", "interim", "statement", "credits", "final"]
assert set(Kind.__args__) == set(INVOICE_KINDS)  # type: ignore[attr-defined]
Status = Literal["draft", "open", "paid", "void", "uncollectible"]


@router.get("", response_model=Page[InvoiceOut], summary="List invoices")
def list_invoices(
    ctx: Annotated[Ctx, Depends(billing())],
    account: Annotated[str | None, Query(max_length=100)] = None,
    status: Status | None = None,
    kind: Kind | None = None,
    issued_from: Annotated[AwareDatetime | None, Query(description="Issued at or after")] = None,
    issued_to: Annotated[AwareDatetime | None, Query(description="Issued before")] = None,
    limit: Limit = 20,
    starting_after: After = None,
) -> Page[InvoiceOut]:
    which = InvoiceFilter(
        account,
        status,
        kind,
        None if issued_from is None else check_instant(issued_from, "issued_from"),
        None if issued_to is None else check_instant(issued_to, "issued_to"),
    )
    rows = invoice_page(ctx.engine, which, starting_after, limit + 1)
    return page(rows, limit, lambda d: invoice_out(d).id, invoice_out)


def details(ctx: Ctx, invoice_id: str) -> InvoiceOut:
    if invoice_id.startswith("draft_"):
        return invoice_out(draft_details(ctx.engine, invoice_id), explained=True)
    return invoice_out(explain_invoice(ctx.engine, invoice_id), explained=True)


@router.get("/{invoice_id}", response_model=InvoiceOut, summary="Get an invoice, explained")
def get_invoice(invoice_id: str, ctx: Annotated[Ctx, Depends(billing())]) -> InvoiceOut:
    return details(ctx, invoice_id)


class FinalizedOut(BaseModel):
    invoices: list[InvoiceOut]


@router.post(
    "/{invoice_id}/finalize",
    response_model=FinalizedOut,
    summary="Finalize a draft (with the account's other drafts)",
)
def finalize(invoice_id: str, ctx: Annotated[Ctx, Depends(vendor("write"))]) -> Response:
    def do() -> FinalizedOut:
        draft = draft_details(ctx.engine, invoice_id)
        account = draft.stored.account_id
        before = {d.stored.number for d in _all(ctx, account)}
        finalize_drafts(ctx.engine, account)
        issued = [d for d in _all(ctx, account) if d.stored.number not in before]
        return FinalizedOut(invoices=[invoice_out(d) for d in issued])

    return write(ctx, 200, do)


def _all(ctx: Ctx, account: str) -> list[InvoiceDetails]:
    return invoices_of(ctx.engine, account)


class PaymentIn(Input):
    at: AwareDatetime | None = Field(None, description="When it was received; default: now")
    amount: str | None = Field(None, max_length=32, description="Checked against the amount due")
    reason: str = Field("payment recorded by hand", max_length=1000)


class ReasonIn(Input):
    reason: str = Field(max_length=1000)
    at: AwareDatetime | None = None


class CreditNoteIn(Input):
    amount: str = Field(max_length=32, description='In the invoice\'s currency, like "12.50"')
    reason: str = Field(max_length=1000)
    at: AwareDatetime | None = None


@router.post(
    "/{invoice_id}/payments", response_model=InvoiceOut, summary="Record a payment by hand"
)
def record_payment(
    invoice_id: str, body: PaymentIn, ctx: Annotated[Ctx, Depends(vendor("write"))]
) -> Response:
    def do() -> InvoiceOut:
        at = ctx.clock.now() if body.at is None else check_instant(body.at, "at")
        amount = None
        if body.amount is not None:
            amount = amount_in(explain_invoice(ctx.engine, invoice_id).currency, body.amount)
        lifecycle.mark_paid(ctx.engine, invoice_id, at, body.reason, ctx.clock, amount)
        return details(ctx, invoice_id)

    return write(ctx, 200, do)


@router.post("/{invoice_id}/void", response_model=InvoiceOut, summary="Void (issued in error)")
def void(
    invoice_id: str, body: ReasonIn, ctx: Annotated[Ctx, Depends(vendor("write"))]
) -> Response:
    def do() -> InvoiceOut:
        at = ctx.clock.now() if body.at is None else check_instant(body.at, "at")
        lifecycle.void(ctx.engine, invoice_id, at, body.reason, ctx.clock)
        return details(ctx, invoice_id)

    return write(ctx, 200, do)


@router.post("/{invoice_id}/mark-uncollectible", response_model=InvoiceOut, summary="Write it off")
def mark_uncollectible(
    invoice_id: str, body: ReasonIn, ctx: Annotated[Ctx, Depends(vendor("write"))]
) -> Response:
    def do() -> InvoiceOut:
        at = ctx.clock.now() if body.at is None else check_instant(body.at, "at")
        lifecycle.mark_uncollectible(ctx.engine, invoice_id, at, body.reason, ctx.clock)
        return details(ctx, invoice_id)

    return write(ctx, 200, do)


@router.post(
    "/{invoice_id}/credit-notes",
    status_code=201,
    response_model=InvoiceOut,
    summary="Credit part or all of an invoice",
)
def credit_note(
    invoice_id: str, body: CreditNoteIn, ctx: Annotated[Ctx, Depends(vendor("write"))]
) -> Response:
    def do() -> InvoiceOut:
        at = ctx.clock.now() if body.at is None else check_instant(body.at, "at")
        cur = explain_invoice(ctx.engine, invoice_id).currency
        lifecycle.issue_credit_note(
            ctx.engine, invoice_id, amount_in(cur, body.amount), body.reason, at, ctx.clock
        )
        return details(ctx, invoice_id)

    return write(ctx, 201, do)


class ReceiptOut(BaseModel):
    receipt: str
    invoice: str
    account: str
    currency: str
    amount: str
    paid_at: str
    how: str
    reference: str


@router.get(
    "/{invoice_id}/receipts", response_model=list[ReceiptOut], summary="An invoice's receipts"
)
def receipts(invoice_id: str, ctx: Annotated[Ctx, Depends(billing())]) -> list[ReceiptOut]:
    return [
        ReceiptOut(
            receipt=r.receipt,
            invoice=r.invoice,
            account=r.account,
            currency=r.currency.code,
            amount=r.currency.format(r.amount_minor),
            paid_at=iso(r.paid_at),
            how=r.how,
            reference=r.reference,
        )
        for r in pay.receipts(ctx.engine, invoice_id)
    ]


PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The PDF"}
}


def _pdf(data: bytes, name: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/{invoice_id}/pdf",
    response_class=Response,
    responses=PDF_RESPONSE,
    summary="The invoice as a PDF (the same bytes for the same invoice in the same state)",
)
def invoice_pdf(invoice_id: str, ctx: Annotated[Ctx, Depends(billing())]) -> Response:
    data = documents.invoice_pdf(ctx.engine, invoice_id, ctx.services.branding)
    return _pdf(data, f"{invoice_id}.pdf")


@router.get(
    "/{invoice_id}/receipt.pdf",
    response_class=Response,
    responses=PDF_RESPONSE,
    summary="The receipt of a paid invoice as a PDF",
)
def receipt_pdf(invoice_id: str, ctx: Annotated[Ctx, Depends(billing())]) -> Response:
    data = documents.receipt_pdf(ctx.engine, invoice_id, ctx.services.branding)
    return _pdf(data, f"{invoice_id}-receipt.pdf")
