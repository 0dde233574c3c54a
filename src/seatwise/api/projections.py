"""An account's projected invoice: ``GET /v1/accounts/{id}/projected-invoice?at=``, the
invoice it would get if its cycle ended at ``at`` (default: now), and what comes next on its
calendar."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel

from seatwise.api.accounts import NextInvoiceOut, next_invoice_out
from seatwise.api.common import LineOut, line_out
from seatwise.api.context import Ctx, billing
from seatwise.api.problems import COMMON_RESPONSES
from seatwise.core.limits import check_instant
from seatwise.core.periods import iso
from seatwise.engine.queries import projected_invoice

router = APIRouter(prefix="/v1/accounts", tags=["invoices"], responses=COMMON_RESPONSES)


class ProjectionOut(BaseModel):
    account: str
    at: str
    note: str
    currency: str
    kind: str | None
    period_start: str | None
    period_end: str | None
    lines: list[LineOut]
    total: str | None
    members: list[str]
    next_invoice: NextInvoiceOut | None


@router.get(
    "/{account_id}/projected-invoice",
    response_model=ProjectionOut,
    summary="The next invoice if the cycle ended now",
)
def projected(
    account_id: str,
    ctx: Annotated[Ctx, Depends(billing())],
    at: Annotated[AwareDatetime | None, Query(description="Default: now")] = None,
) -> ProjectionOut:
    instant = ctx.clock.now() if at is None else check_instant(at, "at")
    found = projected_invoice(ctx.engine, account_id, instant)
    projection, cur = found.projection, found.currency
    invoice, coming = projection.invoice, projection.next_invoice
    return ProjectionOut(
        account=account_id,
        at=iso(projection.at),
        note=projection.note,
        currency=cur.code,
        kind=None if invoice is None else invoice.kind,
        period_start=None if invoice is None else iso(invoice.period.start),
        period_end=None if invoice is None else iso(invoice.period.end),
        lines=[] if invoice is None else [line_out(cur, line, True) for line in invoice.lines],
        total=None if invoice is None else cur.format(invoice.total),
        members=list(projection.members),
        next_invoice=next_invoice_out(coming, cur),
    )
