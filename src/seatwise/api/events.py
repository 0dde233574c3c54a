"""Member and credit events reported by the vendor's product: one
(``POST /v1/accounts/{id}/events``) or a batch of up to 1,000 for any accounts
(``POST /v1/events``), each answered on its own. An event may carry your own ``id``: the same
id again is not recorded twice and gets the first answer (safe retries of ingestion).

A single event sent without an ``Idempotency-Key`` (its own ``id`` is what makes a retry
safe) is recorded together with the others that arrive at the same time (``event_groups``);
with a key, in a transaction of its own that also stores the key's answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field, StrictBool, StrictInt
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from seatwise.api.bodies import Input, documented_body, parsed_body
from seatwise.api.context import Ctx, vendor
from seatwise.api.event_groups import EventGroups
from seatwise.api.idempotency import body_of, write
from seatwise.api.problems import COMMON_RESPONSES
from seatwise.engine.ingest import MAX_BATCH, REFUSED, EventRequest, EventResult, record_events
from seatwise.engine.recording import ACTIONS, EventRefused
from seatwise.store.repository import UnknownAccount

JSON = "application/json"
PATH_OF_ONE = "/v1/accounts/{account_id}/events"
router = APIRouter(tags=["events"], responses=COMMON_RESPONSES)

Action = Literal[
    "invite",
    "activate",
    "deactivate",
    "reactivate",
    "delete",
    "cancel",
    "uncancel",
    "assign",
    "start",
    "unassign",
]
assert set(Action.__args__) == set(ACTIONS)  # type: ignore[attr-defined]


class EventIn(Input):
    id: str | None = Field(
        None, max_length=255, description="Your id: a retry is not recorded twice"
    )
    action: Action
    member: str | None = Field(None, max_length=200)
    at: AwareDatetime | None = Field(None, description="When it happened; default: now")
    content: str | None = Field(None, max_length=200, description="assign, start, unassign")
    credits: StrictInt | None = Field(None, ge=1, le=1_000_000, description="assign")
    email: str | None = Field(None, max_length=320, description="A new member's email")
    manage_billing: StrictBool = False


class BatchEventIn(EventIn):
    account: str = Field(max_length=100)


class EventResultOut(BaseModel):
    id: str | None
    account: str
    status: Literal["accepted", "late", "refused"] = Field(
        description="late: dated before an invoice already issued; the next one adjusts it"
    )
    reason: str | None
    seq: int | None
    at: str | None
    replayed: bool = Field(description="The first answer to this id, given again")


class BatchIn(Input):
    events: list[BatchEventIn] = Field(min_length=1, max_length=MAX_BATCH)


class BatchOut(BaseModel):
    results: list[EventResultOut]


def request_of(account_id: str, event: EventIn) -> EventRequest:
    return EventRequest(  # by position: a batch makes a thousand
        account_id,
        event.action,
        event.member,
        event.at,
        event.content,
        event.credits,
        event.email,
        event.manage_billing,
        event.id,
    )


def result_out(event_id: str | None, account_id: str, result: EventResult) -> dict[str, Any]:
    """An :class:`EventResultOut`, as the plain data it is written from (a batch answers a
    thousand of them: building each as a model would cost more than recording its event)."""
    return {
        "id": event_id,
        "account": account_id,
        "status": result.status,
        "reason": result.reason,
        "seq": result.seq,
        "at": result.at,  # in UTC: body_of writes it as iso() does
        "replayed": result.replayed,
    }


# The busiest route is served by a plain Starlette route (:func:`single_event_route`), whose
# endpoint takes the request only: it calls the context a dependency would give
# (``Depends(vendor("write"))``) and reads its path's account id itself, documented as FastAPI
# would document the parameter. (Solving them was FastAPI's: ``bench/event_instructions.py``,
# SQLite, counted a single event 1,644,785 → 1,458,467 instructions without them, −11%.)
_writer = vendor("write")
_ACCOUNT_IN_PATH = {
    "name": "account_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "title": "Account Id"},
}


@router.post(
    PATH_OF_ONE,
    status_code=201,
    response_model=EventResultOut,
    summary="Record one event of an account",
    openapi_extra={"parameters": [_ACCOUNT_IN_PATH], **documented_body(EventIn)},
)
async def record_one(request: Request) -> Response:
    account_id: str = request.path_params["account_id"]
    ctx = await _writer(request)
    body = await parsed_body(request, EventIn)
    event = request_of(account_id, body)

    def answer(result: EventResult) -> dict[str, Any]:
        if result.no_account:  # the URL names no account: 404, as on every other route
            raise UnknownAccount(result.reason or f"no account {account_id!r}")
        if result.status == REFUSED:
            raise EventRefused(result.reason or "refused")
        return result_out(body.id, account_id, result)

    if ctx.idempotency_key is not None:  # the key is stored in the transaction of the write

        def do() -> dict[str, Any]:
            (result,) = record_events(ctx.engine, [event], ctx.clock)
            return answer(result)

        return await run_in_threadpool(write, ctx, 201, do)
    groups: EventGroups = request.app.state.event_groups
    return Response(body_of(answer(await groups.record(event))), 201, media_type=JSON)


def single_event_route() -> Route:
    """``POST /v1/accounts/{id}/events`` served by :func:`record_one` as a plain Starlette
    route, for the app to try first. The ``APIRoute`` above documents the operation in the
    OpenAPI document and is never reached: FastAPI's wrapping of an endpoint (a request
    context, dependencies solved even when there are none, the answer's handling) cost
    about 200,000 instructions a single event, and this endpoint uses none of it
    (``bench/event_instructions.py``, SQLite, 50 groups: 1,296,769 → 1,099,593, −15%; a
    ``GET /livez``, which now tries this route's pattern first, 540,660 → 549,237).
    Matching, the exception handlers (every problem answered as on the other routes), 405
    for another method and the telemetry's route are the router's, as for any route."""
    return Route(PATH_OF_ONE, record_one, methods=["POST"], name="record_one")


@router.post(
    "/v1/events",
    response_model=BatchOut,
    summary="Record a batch of up to 1,000 events, for any accounts",
    openapi_extra=documented_body(BatchIn),
)
async def record_batch(request: Request, ctx: Annotated[Ctx, Depends(vendor("write"))]) -> Response:
    body = await parsed_body(request, BatchIn)
    requests = [request_of(event.account, event) for event in body.events]

    def answer(results: list[EventResult]) -> dict[str, Any]:
        return {
            "results": [
                result_out(event.id, event.account, result)
                for event, result in zip(body.events, results, strict=True)
            ]
        }

    if ctx.idempotency_key is None:  # the use case's own transaction; the answer made after it
        # (SQLite has one writer: what needs no lock is not done holding it)
        results = await run_in_threadpool(record_events, ctx.engine, requests, ctx.clock)
        return Response(body_of(answer(results)), 200, media_type=JSON)
    # the key's answer is stored in the transaction of the write
    return await run_in_threadpool(
        write, ctx, 200, lambda: answer(record_events(ctx.engine, requests, ctx.clock))
    )
