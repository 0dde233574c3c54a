"""An account's credits: ``/v1/accounts/{id}/credits``. A price quote, a purchase (a
checkout, charged at once to the payment method, or sold on an invoice), the wallet and its
ledger. Assigning, starting and unassigning are member events (``/events``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, StrictInt

from seatwise.api.bodies import Input
from seatwise.api.common import InvoiceOut, invoice_out
from seatwise.api.context import Ctx, billing
from seatwise.api.idempotency import write
from seatwise.api.pagination import After, Limit, Page, number_cursor, page
from seatwise.api.problems import COMMON_RESPONSES
from seatwise.core.errors import FieldError
from seatwise.core.periods import iso
from seatwise.engine import credits as use
from seatwise.engine.queries import explain_invoice

router = APIRouter(
    prefix="/v1/accounts/{account_id}/credits", tags=["credits"], responses=COMMON_RESPONSES
)


class QuoteOption(BaseModel):
    credits: int
    unit_price: str
    total: str


class QuoteOut(BaseModel):
    currency: str
    quote: QuoteOption
    better: QuoteOption | None = Field(description="A larger purchase costing the same or less")
    text: str = Field(description='"95 credits cost $950.00; 100 cost $900.00"')


@router.get("/quote", response_model=QuoteOut, summary="What N credits cost")
def quote(
    account_id: str,
    ctx: Annotated[Ctx, Depends(billing())],
    credits: Annotated[int, Query(ge=1, le=1_000_000)],
) -> QuoteOut:
    found = use.quote_credits(ctx.engine, account_id, credits)
    cur, offer = found.currency, found.quote
    better = offer.better
    return QuoteOut(
        currency=cur.code,
        quote=QuoteOption(
            credits=offer.credits,
            unit_price=cur.format(offer.unit_price),
            total=cur.format(offer.total),
        ),
        better=None
        if better is None
        else QuoteOption(
            credits=better.credits,
            unit_price=cur.format(better.unit_price),
            total=cur.format(better.total),
        ),
        text=found.text(),
    )


class PurchaseIn(Input):
    credits: StrictInt = Field(ge=1, le=1_000_000)  # not true, "2" or 2.0
    collection: Literal["charge_automatically", "send_invoice"] = Field(
        "charge_automatically",
        description="A checkout, charged at once to the payment method on file; or sold on "
        "an invoice paid by transfer",
    )


class PurchaseOut(BaseModel):
    invoice: InvoiceOut
    paid: bool
    balance: int
    assigned: int


@router.post("/purchases", status_code=201, response_model=PurchaseOut, summary="Buy credits")
def purchase(
    account_id: str, body: PurchaseIn, ctx: Annotated[Ctx, Depends(billing(write=True))]
) -> Response:
    def do() -> PurchaseOut:
        bought = use.buy_credits(ctx.engine, account_id, body.credits, ctx.clock, body.collection)
        number = bought.invoice.number
        if number is None:
            raise FieldError("credits", "the purchase was not issued")
        return PurchaseOut(
            invoice=invoice_out(explain_invoice(ctx.engine, number)),
            paid=bought.paid,
            balance=bought.balance,
            assigned=bought.assigned,
        )

    return write(ctx, 201, do)


class Reservation(BaseModel):
    member: str
    content: str
    credits: int
    at: str


class WalletOut(BaseModel):
    account: str
    balance: int
    assigned: int
    over_assigned: bool = Field(description="More assigned than bought: shown in red")
    reservations: list[Reservation]


@router.get("", response_model=WalletOut, summary="The wallet: balance and assigned")
def wallet(account_id: str, ctx: Annotated[Ctx, Depends(billing())]) -> WalletOut:
    view = use.wallet(ctx.engine, account_id, ctx.clock.now())
    return WalletOut(
        account=account_id,
        balance=view.balance,
        assigned=view.assigned,
        over_assigned=view.over_assigned,
        reservations=[
            Reservation(member=r.member, content=r.content, credits=r.credits, at=iso(r.at))
            for r in view.reservations
        ],
    )


class LedgerEntry(BaseModel):
    position: int
    at: str
    kind: str
    credits: int
    balance_change: int
    assigned_change: int
    member: str | None
    content: str | None
    note: str


@router.get("/ledger", response_model=Page[LedgerEntry], summary="Every credit movement")
def ledger(
    account_id: str,
    ctx: Annotated[Ctx, Depends(billing())],
    limit: Limit = 50,
    starting_after: After = None,
) -> Page[LedgerEntry]:
    view = use.wallet(ctx.engine, account_id, ctx.clock.now())
    entries = [
        LedgerEntry(
            position=position,
            at=iso(e.at),
            kind=e.kind,
            credits=e.credits,
            balance_change=e.balance_change,
            assigned_change=e.assigned_change,
            member=e.member,
            content=e.content,
            note=e.note,
        )
        for position, e in enumerate(view.entries, start=1)
    ]
    if starting_after is not None:
        reason = "the ledger's cursor is an entry's position"
        entries = entries[number_cursor(starting_after, reason, len(entries)) :]
    return page(entries[: limit + 1], limit, lambda e: str(e.position), lambda e: e)
