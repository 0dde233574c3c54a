"""Single events reported at the same time are recorded together (a *group commit*).

A product reports events as they happen, one request each, many at once. Recording each in a
transaction of its own costs a lock, three reads and a commit per event, and SQLite has one
writer: the requests would queue behind each other's commits. Instead, each request hands its
event to one writer thread and waits; the writer takes everything waiting (up to a batch,
:data:`~seatwise.engine.ingest.MAX_BATCH`) and records it with
:func:`~seatwise.engine.ingest.record_events`, the use case of ``POST /v1/events``, so a group
is recorded exactly as a batch of those events would be: each answered on its own (accepted,
late, refused with the reason), the same vendor ``id`` twice recorded once, one account's
failure not another's. While the writer commits one group the next one gathers, so the more
requests arrive together, the fewer commits each costs; a lone request waits for nobody.

Nothing here decides anything about an event: this module only carries requests to the use
case and answers back. A failure of the whole group (the database is unavailable) is each
request's failure, answered as it would have been alone.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from seatwise.engine.clock import Clock
from seatwise.engine.ingest import MAX_BATCH, EventRequest, EventResult, record_events
from seatwise.store.repository.scope import scoped_account

Recorder = Callable[[Engine, Sequence[EventRequest], Clock], list[EventResult]]


@dataclass(frozen=True)
class _Waiting:
    request: EventRequest
    future: asyncio.Future[EventResult]
    loop: asyncio.AbstractEventLoop


class EventGroups:
    """One writer thread per server process, started by the first event it is given."""

    def __init__(
        self, engine: Engine, clock: Clock, limit: int = MAX_BATCH, record: Recorder = record_events
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._limit = limit
        self._record = record
        self._waiting: deque[_Waiting] = deque()
        self._ready = threading.Condition()
        self._writer: threading.Thread | None = None
        self._closed = False

    async def record(self, request: EventRequest) -> EventResult:
        """Record one event with whatever else is waiting; its answer. Inside an account
        scope (a customer's session) the event is recorded alone, in that scope: the writer's
        groups are the vendor's, who knows every account."""
        if scoped_account() is not None:
            (alone,) = await asyncio.to_thread(self._record, self._engine, [request], self._clock)
            return alone
        loop = asyncio.get_running_loop()
        future: asyncio.Future[EventResult] = loop.create_future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the server is stopping")
            self._waiting.append(_Waiting(request, future, loop))
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write, name="seatwise-event-groups", daemon=True
                )
                self._writer.start()
            self._ready.notify()
        return await future

    def close(self) -> None:
        """Record what is waiting, then stop the writer."""
        with self._ready:
            self._closed = True
            self._ready.notify()
            writer = self._writer
        if writer is not None:
            writer.join()

    def _write(self) -> None:
        while True:
            with self._ready:
                while not self._waiting and not self._closed:
                    self._ready.wait()
                if not self._waiting:
                    return
                count = min(self._limit, len(self._waiting))
                group = [self._waiting.popleft() for _ in range(count)]
            try:
                results = self._record(
                    self._engine, [waiting.request for waiting in group], self._clock
                )
                answers: list[tuple[_Waiting, object]] = list(zip(group, results, strict=True))
                how: Callable[[Any, Any], None] = _settle
            except Exception as error:  # the group's failure is each request's; the writer
                # lives on, or every later request would wait forever
                answers = [(waiting, error) for waiting in group]
                how = _fail
            _answer(answers, how)


def _answer(answers: list[tuple[_Waiting, object]], how: Callable[[Any, Any], None]) -> None:
    """Hand each waiting request its answer, in one call per event loop (one wake-up of it
    for the whole group, not one per request)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[EventResult], object]]]
    by_loop = {}
    for waiting, answer in answers:
        by_loop.setdefault(waiting.loop, []).append((waiting.future, answer))
    for loop, settled in by_loop.items():
        with suppress(RuntimeError):  # its event loop is closed: nobody waits for the answers
            loop.call_soon_threadsafe(_each, how, settled)


def _each(how: Callable[[Any, Any], None], settled: list[tuple[Any, object]]) -> None:
    for future, answer in settled:
        how(future, answer)


def _settle(future: asyncio.Future[EventResult], result: EventResult) -> None:
    if not future.done():  # the client may have gone
        future.set_result(result)


def _fail(future: asyncio.Future[EventResult], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)
