"""``POST /v1/billing-runs``: bill and collect everything due up to now, for one account or
all (the scheduled worker stays ``seatwise bill --loop``). A run is idempotent by nature: run
again, it issues nothing twice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field

from seatwise.api.bodies import Input
from seatwise.api.context import Ctx, vendor
from seatwise.api.idempotency import body_of
from seatwise.api.problems import COMMON_RESPONSES
from seatwise.core.periods import iso
from seatwise.engine.billing_run import bill
from seatwise.store import repository
from seatwise.store.database import read_connection

router = APIRouter(tags=["billing runs"], responses=COMMON_RESPONSES)


class RunIn(Input):
    account: str | None = Field(None, max_length=100, description="Default: every account")


class Failure(BaseModel):
    account: str
    reason: str


class RunOut(BaseModel):
    until: str
    accounts: int
    invoices: int
    lines: int
    charges: int
    paid: int
    reminders: int
    messages: int
    failed: list[Failure]


@router.post("/v1/billing-runs", response_model=RunOut, summary="Bill everything due up to now")
def run(body: RunIn, ctx: Annotated[Ctx, Depends(vendor("admin"))]) -> Response:
    now = ctx.clock.now()
    only = None
    if body.account is not None:
        with read_connection(ctx.engine) as connection:
            repository.load_account(connection, body.account)  # 404 for an unknown one
        only = [body.account]
    report = bill(ctx.engine, now, gateway=ctx.services.gateway, clock=ctx.clock, only=only)
    out = RunOut(
        until=iso(now),
        accounts=report.accounts,
        invoices=report.invoices,
        lines=report.lines,
        charges=report.charges,
        paid=report.paid,
        reminders=report.reminders,
        messages=report.messages,
        failed=[Failure(account=f.account_id, reason=f.reason) for f in report.failed],
    )
    return Response(body_of(out), 200, media_type="application/json")
