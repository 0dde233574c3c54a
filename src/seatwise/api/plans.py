"""Plans: ``/v1/plans``. A plan is the document a scenario's ``plan:`` is; it never changes
once created (a new version is a new plan)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field

from seatwise.api.bodies import Input
from seatwise.api.context import Ctx, vendor
from seatwise.api.idempotency import write
from seatwise.api.pagination import After, Limit, Page, page
from seatwise.api.problems import COMMON_RESPONSES
from seatwise.core.errors import PlanError
from seatwise.core.periods import iso
from seatwise.engine import plans as use
from seatwise.engine.plans import StoredPlan

router = APIRouter(prefix="/v1/plans", tags=["plans"], responses=COMMON_RESPONSES)


class PlanIn(Input):
    id: str | None = Field(None, max_length=100, description="Default: a new plan_… id")
    definition: dict[str, Any] = Field(
        description='The plan, as in a scenario: {"preset": "seats-annual", "currency": '
        '"EUR", "price": "108.00", …}'
    )


class PlanOut(BaseModel):
    id: str
    definition: dict[str, Any]
    currency: str
    interval: str
    billing: str
    collection: str
    credits: bool
    created_at: str
    accounts: int


def plan_out(stored: StoredPlan) -> PlanOut:
    plan = stored.plan
    return PlanOut(
        id=stored.id,
        definition=stored.definition,
        currency=plan.currency.code,
        interval=plan.interval,
        billing=plan.billing,
        collection=plan.collection,
        credits=plan.credits is not None,
        created_at=iso(stored.created_at),
        accounts=stored.accounts,
    )


@router.post("", status_code=201, response_model=PlanOut, summary="Create a plan")
def create_plan(body: PlanIn, ctx: Annotated[Ctx, Depends(vendor("write"))]) -> Response:
    def do() -> PlanOut:
        try:
            return plan_out(use.create_plan(ctx.engine, body.definition, ctx.clock, body.id))
        except PlanError as error:  # its field, inside the request's `definition`
            raise PlanError(f"definition.{error.path}", error.reason) from None

    return write(ctx, 201, do)


@router.get("", response_model=Page[PlanOut], summary="List plans")
def list_plans(
    ctx: Annotated[Ctx, Depends(vendor())], limit: Limit = 20, starting_after: After = None
) -> Page[PlanOut]:
    rows = use.plans(ctx.engine, starting_after, limit + 1)
    return page(rows, limit, lambda p: p.id, plan_out)


@router.get("/{plan_id}", response_model=PlanOut, summary="Get a plan")
def get_plan(plan_id: str, ctx: Annotated[Ctx, Depends(vendor())]) -> PlanOut:
    return plan_out(use.plan(ctx.engine, plan_id))
