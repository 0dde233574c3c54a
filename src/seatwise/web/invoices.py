"""The billing page's invoices: the whole history a page at a time (htmx appends the next),
one invoice with every line explained, its PDF and its receipt's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from seatwise.documents.pdf import invoice_pdf, receipt_pdf
from seatwise.engine.payments import receipts
from seatwise.engine.queries import explain_invoice, invoice_page
from seatwise.store.repository import InvoiceFilter
from seatwise.web.app import render
from seatwise.web.session import CurrentViewer, render_for, viewer_formats

router = APIRouter()
INVOICES_PER_PAGE = 25


@router.get("/invoices")
def invoices(
    request: Request,
    who: CurrentViewer,
    after: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Every invoice, newest first, a page at a time (htmx appends the next page)."""
    rows = invoice_page(
        who.engine,
        InvoiceFilter(account_id=who.account_id),
        after,
        INVOICES_PER_PAGE + 1,
        newest_first=True,
    )
    shown = rows[:INVOICES_PER_PAGE]
    fmt = viewer_formats(who)
    values: dict[str, Any] = {
        "invoices": shown,
        "fmt": fmt,
        "next_after": shown[-1].stored.number if len(rows) > INVOICES_PER_PAGE else None,
    }
    if request.headers.get("hx-request") == "true" and after is not None:
        return render(request, "_invoice_rows.html", **values)
    return render_for(request, who, "invoices.html", **values)


@router.get("/invoices/{number}")
def invoice(request: Request, who: CurrentViewer, number: str) -> Response:
    """One invoice, every line with its explanation, its credit notes and payments."""
    details = explain_invoice(who.engine, number)
    paid = receipts(who.engine, number)
    return render_for(
        request,
        who,
        "invoice.html",
        d=details,
        paid=paid,
        fmt=viewer_formats(who),
    )


def _pdf(data: bytes, name: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/invoices/{number}/invoice.pdf")
def invoice_file(who: CurrentViewer, number: str) -> Response:
    return _pdf(invoice_pdf(who.engine, number, who.branding), f"{number}.pdf")


@router.get("/invoices/{number}/receipt.pdf")
def receipt_file(who: CurrentViewer, number: str) -> Response:
    return _pdf(receipt_pdf(who.engine, number, who.branding), f"{number}-receipt.pdf")
