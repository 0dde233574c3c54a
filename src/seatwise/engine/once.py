"""Writes done once, however often they are asked for (Stripe's idempotency keys): the API's
``Idempotency-Key`` and the billing page's forms use the same rule.

A write with a key first claims the key for its caller in a short transaction of its own;
then the write runs in one unit of work, and its answer is stored **in that same
transaction**, so the record exists if and only if the write happened. Asked again with the
same key and the same request, the stored answer is given again (``replayed``); the same key
with another request is refused (:class:`KeyReused`); while the first is still running, too
(:class:`KeyInFlight`). A write that fails gives its key back. Keys are kept at least 24
hours (pruned after 48) and a claim whose request crashed is taken over after a minute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from seatwise.core.errors import SeatwiseError
from seatwise.engine.clock import Clock
from seatwise.store import access_repository as access
from seatwise.store.database import unit_of_work, write_transaction

LEASE = timedelta(minutes=1)
KEEP = timedelta(hours=48)


class KeyReused(SeatwiseError):
    """The key was used with another request."""


class KeyInFlight(SeatwiseError):
    """The first request with this key is still running."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    replayed: bool = False


def run_once(
    engine: Engine,
    clock: Clock,
    caller: str,
    key: str | None,
    request_hash: str,
    status: int,
    action: Callable[[], bytes],
) -> Answer:
    """Run ``action`` (a use case, and the answer it makes) as one unit of work, once per
    ``key`` of ``caller``; without a key, every time."""
    if key is None:
        with unit_of_work(engine):
            return Answer(status, action())
    now = clock.now()
    with write_transaction(engine) as connection:
        access.prune_idempotency(connection, now - KEEP)
        found = access.claim_idempotency(connection, caller, key, request_hash, now, now + LEASE)
    if found is not None:
        if found.request_hash != request_hash:
            raise KeyReused(
                "this Idempotency-Key was used with another request: use a new key for a new "
                "request"
            )
        if found.status == access.IN_FLIGHT:
            raise KeyInFlight("a request with this Idempotency-Key is still running: retry")
        assert found.response_body is not None and found.response_status is not None
        return Answer(found.response_status, found.response_body, replayed=True)
    try:
        with unit_of_work(engine) as connection:
            body = action()
            access.finish_idempotency(connection, caller, key, status, body)
    except BaseException:
        with write_transaction(engine) as connection:
            access.release_idempotency(connection, caller, key)
        raise
    return Answer(status, body)
