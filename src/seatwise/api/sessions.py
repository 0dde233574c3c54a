"""Sessions for an account's billing admins: ``POST /v1/accounts/{id}/sessions`` gives a
member with Manage Billing a short-lived token for the account's billing (and only its), and a
one-time link to the billing page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from seatwise.api.bodies import Input
from seatwise.api.context import Ctx, vendor
from seatwise.api.idempotency import write
from seatwise.api.problems import COMMON_RESPONSES
from seatwise.core.periods import iso
from seatwise.engine import access
from seatwise.engine.billing_access import create_billing_link

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], responses=COMMON_RESPONSES)


class SessionIn(Input):
    member: str = Field(max_length=200, description="A member with Manage Billing")


class SessionOut(BaseModel):
    token: str = Field(description="Shown once: the Bearer for the account's billing")
    account: str
    member: str
    expires_at: str
    link: str = Field(
        description="Shown once: a one-time link to the billing page for the member, valid "
        "15 minutes (send the member there)"
    )
    link_expires_at: str


@router.post(
    "/{account_id}/sessions",
    status_code=201,
    response_model=SessionOut,
    summary="A short session for a billing admin",
)
def create_session(
    request: Request,
    account_id: str,
    body: SessionIn,
    ctx: Annotated[Ctx, Depends(vendor("admin"))],
) -> Response:
    def do() -> SessionOut:
        made = access.create_session(ctx.engine, account_id, body.member, ctx.clock)
        link = create_billing_link(ctx.engine, account_id, body.member, ctx.clock)
        brand = ctx.services.branding
        base = (brand.public_url if brand else None) or str(request.base_url)
        return SessionOut(
            token=made.token,
            account=made.account_id,
            member=made.member_id,
            expires_at=iso(made.expires_at),
            link=link.url(base),
            link_expires_at=iso(link.expires_at),
        )

    return write(ctx, 201, do)
