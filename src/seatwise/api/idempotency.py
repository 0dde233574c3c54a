"""Safe retries of writes (Stripe's idempotency keys).

A write with ``Idempotency-Key`` (at most 255 characters) first claims the key for its caller
in a short transaction of its own; then the write runs in one unit of work, and its response is
stored **in that same transaction**, so the record exists if and only if the write happened.
A retry with the same key and the same request gets the stored response again, with
``Idempotent-Replayed: true``; the same key with another request is 422; a retry while the
first is still running is 409. A write that fails gives its key back. Keys are kept at least
24 hours (pruned after 48) and a claim whose request crashed is taken over after a minute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
from fastapi.responses import Response
from pydantic import BaseModel

from seatwise.api.context import Ctx
from seatwise.api.problems import problem
from seatwise.store import access_repository as access
from seatwise.store.database import unit_of_work, write_transaction

LEASE = timedelta(minutes=1)
KEEP = timedelta(hours=48)


def body_of(result: BaseModel | dict[str, Any] | list[Any]) -> bytes:
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    return orjson.dumps(data)


def write(ctx: Ctx, status: int, action: Callable[[], BaseModel | dict[str, Any]]) -> Response:
    """Run ``action`` (a use case and the response it makes) as one unit of work, honouring
    the request's idempotency key."""
    engine, key, caller = ctx.engine, ctx.idempotency_key, ctx.caller.id
    if key is None:
        with unit_of_work(engine):
            body = body_of(action())
        return Response(body, status, media_type="application/json")
    now = ctx.clock.now()
    with write_transaction(engine) as connection:
        access.prune_idempotency(connection, now - KEEP)
        found = access.claim_idempotency(
            connection, caller, key, ctx.request_hash, now, now + LEASE
        )
    if found is not None:
        if found.request_hash != ctx.request_hash:
            return problem(
                422,
                "this Idempotency-Key was used with another request: use a new key for a new "
                "request",
                [{"field": "Idempotency-Key", "reason": "used with another request"}],
            )
        if found.status == access.IN_FLIGHT:
            return problem(409, "a request with this Idempotency-Key is still running: retry")
        assert found.response_body is not None and found.response_status is not None
        return Response(
            found.response_body,
            found.response_status,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        with unit_of_work(engine) as connection:
            body = body_of(action())
            access.finish_idempotency(connection, caller, key, status, body)
    except BaseException:
        with write_transaction(engine) as connection:
            access.release_idempotency(connection, caller, key)
        raise
    return Response(body, status, media_type="application/json")
