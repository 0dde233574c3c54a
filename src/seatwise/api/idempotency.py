"""Safe retries of writes (Stripe's idempotency keys): :func:`seatwise.engine.once.run_once`
behind ``Idempotency-Key`` (at most 255 characters). A retry with the same key and the same
request gets the stored response again, with ``Idempotent-Replayed: true``; the same key with
another request is 422; a retry while the first is still running is 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi.responses import Response
from pydantic import BaseModel

from seatwise.api.context import Ctx
from seatwise.api.problems import problem
from seatwise.engine.once import KeyInFlight, KeyReused, run_once


def body_of(result: BaseModel | dict[str, Any] | list[Any]) -> bytes:
    """A response's JSON. An instant in plain data (an aware one, in UTC) is written as
    :func:`~seatwise.core.periods.iso` writes it (``2025-01-02T09:00:00Z``), by orjson
    itself: a batch's answer holds a thousand."""
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    return orjson.dumps(data, option=orjson.OPT_UTC_Z)


def write(ctx: Ctx, status: int, action: Callable[[], BaseModel | dict[str, Any]]) -> Response:
    """Run ``action`` (a use case and the response it makes) as one unit of work, honouring
    the request's idempotency key."""
    try:
        answer = run_once(
            ctx.engine,
            ctx.clock,
            ctx.caller.id,
            ctx.idempotency_key,
            ctx.request_hash,
            status,
            lambda: body_of(action()),
        )
    except KeyReused as error:
        return problem(
            422, str(error), [{"field": "Idempotency-Key", "reason": "used with another request"}]
        )
    except KeyInFlight as error:
        return problem(409, str(error))
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(answer.body, answer.status, media_type="application/json", headers=headers)
