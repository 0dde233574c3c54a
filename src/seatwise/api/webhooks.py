"""Webhook endpoints (``/v1/webhook-endpoints``): where billing events are POSTed, signed per
Standard Webhooks with the endpoint's own secret (shown once, at creation or rotation); and
the deliveries (``/v1/webhook-deliveries``): each message and how its delivery went."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from seatwise.api.bodies import Input
from seatwise.api.common import when
from seatwise.api.context import Ctx, vendor
from seatwise.api.idempotency import write
from seatwise.api.pagination import After, Limit, Page, number_cursor, page
from seatwise.api.problems import COMMON_RESPONSES
from seatwise.collect.outbox import webhook_event
from seatwise.core.errors import FieldError
from seatwise.core.limits import MAX_ID
from seatwise.core.periods import iso
from seatwise.engine import payments as use
from seatwise.store import outbox_repository as outbox_store

router = APIRouter(tags=["webhooks"], responses=COMMON_RESPONSES)
EndpointId = Annotated[int, Path(ge=1, le=MAX_ID)]


class EndpointIn(Input):
    url: str = Field(max_length=2000)


class EndpointOut(BaseModel):
    id: int
    url: str


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="whsec_…: verifies the signatures; shown this once")


@router.post(
    "/v1/webhook-endpoints",
    status_code=201,
    response_model=EndpointWithSecret,
    summary="Add an endpoint",
)
def create_endpoint(body: EndpointIn, ctx: Annotated[Ctx, Depends(vendor("write"))]) -> Response:
    def do() -> EndpointWithSecret:
        made = use.add_webhook_endpoint(ctx.engine, body.url, ctx.clock)
        return EndpointWithSecret(id=made.id, url=made.url, secret=made.secret)

    return write(ctx, 201, do)


@router.get("/v1/webhook-endpoints", response_model=list[EndpointOut], summary="The endpoints")
def list_endpoints(ctx: Annotated[Ctx, Depends(vendor())]) -> list[EndpointOut]:
    return [EndpointOut(id=e.id, url=e.url) for e in use.webhook_endpoints(ctx.engine)]


class Removed(BaseModel):
    id: int
    removed: bool


@router.delete(
    "/v1/webhook-endpoints/{endpoint_id}", response_model=Removed, summary="Remove an endpoint"
)
def remove_endpoint(
    endpoint_id: EndpointId, ctx: Annotated[Ctx, Depends(vendor("write"))]
) -> Response:
    def do() -> Removed:
        use.remove_webhook_endpoint(ctx.engine, endpoint_id)
        return Removed(id=endpoint_id, removed=True)

    return write(ctx, 200, do)


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=EndpointWithSecret,
    summary="A new secret, signing from now on",
)
def rotate(endpoint_id: EndpointId, ctx: Annotated[Ctx, Depends(vendor("write"))]) -> Response:
    def do() -> EndpointWithSecret:
        made = use.rotate_webhook_secret(ctx.engine, endpoint_id)
        return EndpointWithSecret(id=made.id, url=made.url, secret=made.secret)

    return write(ctx, 200, do)


class DeliveryOut(BaseModel):
    id: str
    endpoint: int
    type: str
    account: str
    at: str
    status: str = Field(description="pending, delivered, failed or skipped")
    attempts: int
    next_attempt_at: str | None
    delivered_at: str | None
    last_error: str | None
    payload: dict[str, object]


@router.get(
    "/v1/webhook-deliveries", response_model=Page[DeliveryOut], summary="Webhook deliveries"
)
def deliveries(
    ctx: Annotated[Ctx, Depends(vendor())],
    endpoint: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = 20,
    starting_after: After = None,
) -> Page[DeliveryOut]:
    after = None
    if starting_after is not None:
        reason = "a delivery's id, like msg_42"
        if not starting_after.startswith("msg_"):
            raise FieldError("starting_after", reason)
        after = number_cursor(starting_after[4:], reason, MAX_ID)
    rows = use.webhook_deliveries(ctx.engine, endpoint, after, limit + 1)

    def shape(row: outbox_store.OutboxRow) -> DeliveryOut:
        event = webhook_event(row)
        return DeliveryOut(
            id=event.id,
            endpoint=int(row.message.payload["endpoint"]),
            type=event.type,
            account=row.message.account_id,
            at=iso(row.message.at),
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=when(row.next_attempt_at) if row.status == "pending" else None,
            delivered_at=when(row.delivered_at),
            last_error=row.last_error,
            payload=orjson.loads(event.payload()),
        )

    return page(rows, limit, lambda row: f"msg_{row.id}", shape)
