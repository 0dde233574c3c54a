"""An account's payments: every charge and every payment recorded by hand, with receipts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from seatwise.api.context import Ctx, billing
from seatwise.api.pagination import After, Limit, Page, page
from seatwise.api.problems import COMMON_RESPONSES
from seatwise.core.periods import iso
from seatwise.engine.payments import attempts_of

router = APIRouter(tags=["payments"], responses=COMMON_RESPONSES)


class PaymentOut(BaseModel):
    id: str
    invoice: str
    attempt: int
    at: str
    method: str
    currency: str
    amount: str
    succeeded: bool
    reason: str
    receipt: str | None
    reference: str


@router.get(
    "/v1/accounts/{account_id}/payments",
    response_model=Page[PaymentOut],
    summary="Charges and payments of an account",
)
def list_payments(
    account_id: str,
    ctx: Annotated[Ctx, Depends(billing())],
    limit: Limit = 20,
    starting_after: After = None,
) -> Page[PaymentOut]:
    made = attempts_of(ctx.engine, account_id)
    cur = made.currency
    rows = [
        PaymentOut(
            id=f"{a.attempt.invoice}/{a.number}",
            invoice=a.attempt.invoice,
            attempt=a.number,
            at=iso(a.attempt.at),
            method=a.attempt.method,
            currency=cur.code,
            amount=cur.format(a.amount),
            succeeded=a.attempt.succeeded,
            reason=a.attempt.reason,
            receipt=a.receipt,
            reference=a.reference,
        )
        for a in made.attempts
    ]
    if starting_after is not None:
        ids = [row.id for row in rows]
        rows = rows[ids.index(starting_after) + 1 :] if starting_after in ids else []
    return page(rows[: limit + 1], limit, lambda row: row.id, lambda row: row)
