"""Single events reported at the same time are recorded together (a *group commit*).

A product reports events as they happen, one request each, many at once. Recording each in a
transaction of its own costs a lock, three reads and a commit per event, and SQLite has one
writer: the requests would queue behind each other's commits. Instead, each request hands its
event to a group and waits; the group is recorded with
:func:`~seatwise.engine.ingest.record_events`, the use case of ``POST /v1/events``, so it is
recorded exactly as a batch of those events would be: each answered on its own (accepted,
late, refused with the reason), the same vendor ``id`` twice recorded once, one account's
failure not another's.

**When a group is complete.** The event loop gathers the events of the requests it is
reading: a group closes when a few turns of the loop (:data:`QUIET_TURNS`) have brought no
new event, or at :data:`~seatwise.engine.ingest.MAX_BATCH` events. A lone request waits for
nobody (a few turns of an idle loop take microseconds).

**Who writes it.** The event loop writes the group itself: a group's write is mostly Python,
which the loop could not run alongside anyway (one interpreter lock), and handing it to a
thread cost the two of them more in switching than the write itself (SQLite, 8 clients: single
events 1,277 → 2,268/s; PostgreSQL, 8 and 32 clients, one and two workers, against a thread
writing each group while the loop served, up to :data:`IN_FLIGHT` groups at once: single
events/s +9–41% in nine of ten pairs run alternately, −12% in one whose ceiling fell as much).
The loop waits for no other writer. On SQLite it takes the writer locks only if they are free
at that moment; when another writer holds them (a billing run, another server worker), a thread
waits for them and hands them to the loop, which then writes the group with what gathered
meanwhile (two workers, 8 clients: +16% and +28% single events ÷ ceiling, measured). No
Seatwise writer makes the event loop wait (a program outside Seatwise writing the same file,
without its lock file, still could: up to SQLite's busy timeout). On PostgreSQL the loop writes
through an engine whose transactions wait for no lock
(:func:`~seatwise.store.quick_writes.quick_writes_engine`): when another transaction holds a row
the group needs (an account a billing run is writing), the group's transaction fails at once,
nothing of it kept, and a thread writes the group again, waiting for the row, while the loop
serves and gathers the next one; up to :data:`IN_FLIGHT` groups are so written at once. The
loop still waits for PostgreSQL's answers to its own statements (four round trips a group).
Groups written at once that name the same account take its lock in turn, as any two writers do;
every writer takes its locks in account order, so none waits in a circle.

Nothing here decides anything about an event: this module only carries requests to the use
case and answers back. A failure of the whole group (the database is unavailable) is each
request's failure, answered as it would have been alone.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

from sqlalchemy import Engine

from seatwise.engine.clock import Clock
from seatwise.engine.ingest import MAX_BATCH, EventRequest, EventResult, record_events
from seatwise.store.database import sqlite_busy_seconds
from seatwise.store.quick_writes import quick_writes_engine, waited_for_a_lock
from seatwise.store.repository.scope import scoped_account
from seatwise.store.sqlite_writers import in_turn, wait_for_turn, writer_locks_if_free

Recorder = Callable[[Engine, Sequence[EventRequest], Clock], list[EventResult]]
QUIET_TURNS = 4  # turns of the event loop without a new event that close a group
IN_FLIGHT = 4  # groups written at once by threads on PostgreSQL (SQLite has one writer)
_Waiting = tuple[EventRequest, asyncio.Future[EventResult]]


@dataclass
class _Gathering:
    """The events one event loop has gathered, and how many of its groups threads are
    writing (the next one gathers meanwhile)."""

    waiting: list[_Waiting] = field(default_factory=list)
    scheduled: bool = False
    writing: int = 0  # groups being written (or waiting for SQLite's turn) by threads
    seen: int = 0
    quiet: int = 0


class EventGroups:
    """The groups of one server process. ``inline``: whether the event loop may write a
    group itself when no other writer is in its way (by default). ``in_flight``: how many
    groups threads may write at once (by default :data:`IN_FLIGHT` on PostgreSQL, one
    elsewhere)."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        limit: int = MAX_BATCH,
        record: Recorder = record_events,
        inline: bool = True,
        in_flight: int | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._limit = limit
        self._record = record
        self._inline = inline
        # what the loop writes with: on PostgreSQL, transactions that wait for no lock
        self._inline_engine = quick_writes_engine(engine) if inline else engine
        if in_flight is None:
            in_flight = IN_FLIGHT if engine.dialect.name == "postgresql" else 1
        self._in_flight = in_flight
        self._loops: dict[asyncio.AbstractEventLoop, _Gathering] = {}
        self._unanswered = 0
        self._state = threading.Condition()  # guards _unanswered and _closed
        self._closed = False

    @property
    def in_flight(self) -> int:
        """How many groups threads may write at once."""
        return self._in_flight

    async def record(self, request: EventRequest) -> EventResult:
        """Record one event with the others gathered with it; its answer. Inside an account
        scope (a customer's session) the event is recorded alone, in that scope: the groups
        are the vendor's, who knows every account."""
        if scoped_account() is not None:
            (alone,) = await asyncio.to_thread(self._record, self._engine, [request], self._clock)
            return alone
        with self._state:
            if self._closed:
                raise RuntimeError("the server is stopping")
            self._unanswered += 1
        loop = asyncio.get_running_loop()
        future: asyncio.Future[EventResult] = loop.create_future()
        gathering = self._loops.setdefault(loop, _Gathering())
        gathering.waiting.append((request, future))
        self._schedule(loop, gathering)
        return await future

    def close(self) -> None:
        """Refuse new events and wait until every event given is answered (recorded or
        failed). Called from a thread other than the event loops', which go on writing."""
        with self._state:
            self._closed = True
            self._state.wait_for(lambda: self._unanswered == 0, timeout=60)
        if self._inline_engine is not self._engine:
            self._inline_engine.dispose()

    def _schedule(self, loop: asyncio.AbstractEventLoop, gathering: _Gathering) -> None:
        if gathering.scheduled or gathering.writing >= self._in_flight or not gathering.waiting:
            return
        gathering.scheduled = True
        gathering.seen = gathering.quiet = 0
        # the turns run in a context of their own, not in that of the request that began it
        loop.call_soon(self._turn, loop, gathering, context=contextvars.Context())

    def _turn(self, loop: asyncio.AbstractEventLoop, gathering: _Gathering) -> None:
        """One turn of the loop: a group closes once no event came for QUIET_TURNS turns."""
        if len(gathering.waiting) < self._limit:
            if len(gathering.waiting) > gathering.seen:
                gathering.seen, gathering.quiet = len(gathering.waiting), 0
                loop.call_soon(self._turn, loop, gathering)
                return
            gathering.quiet += 1
            if gathering.quiet < QUIET_TURNS:
                loop.call_soon(self._turn, loop, gathering)
                return
        gathering.scheduled = False
        group = gathering.waiting[: self._limit]
        del gathering.waiting[: self._limit]
        if self._inline:
            if self._written_here(group):
                self._next(loop, gathering)  # what was over the limit
            elif self._engine.dialect.name == "sqlite":
                # another writer has SQLite's lock: a thread waits for it, the loop writes
                self._wait_for_turn(loop, gathering, group)
            else:  # another writer holds a row: a thread writes the group, waiting for it
                self._write_in_thread(loop, gathering, group)
            return
        self._write_in_thread(loop, gathering, group)

    def _write_in_thread(
        self, loop: asyncio.AbstractEventLoop, gathering: _Gathering, group: list[_Waiting]
    ) -> None:
        try:
            written = loop.run_in_executor(None, self._write, group)
        except RuntimeError as error:  # the loop is shutting its threads down
            self._answer(group, None, error)
            return
        gathering.writing += 1
        written.add_done_callback(lambda done: self._written(loop, gathering, group, done))

    def _wait_for_turn(
        self, loop: asyncio.AbstractEventLoop, gathering: _Gathering, group: list[_Waiting]
    ) -> None:
        """A thread waits for the writers' turn and hands it to the loop, which writes the
        group with what gathered meanwhile (:meth:`_in_turn`)."""

        def wait() -> None:
            turn: ExitStack | None = None
            failure: Exception | None = None
            try:
                turn = wait_for_turn(self._engine, sqlite_busy_seconds)
            except Exception as error:
                failure = error
            try:
                loop.call_soon_threadsafe(self._in_turn, loop, gathering, group, turn, failure)
            except RuntimeError:  # the loop is closed: nobody writes; the turn is given back
                if turn is not None:
                    turn.close()

        try:
            loop.run_in_executor(None, wait)
        except RuntimeError as error:  # the loop is shutting its threads down
            self._answer(group, None, error)
            return
        gathering.writing += 1

    def _in_turn(
        self,
        loop: asyncio.AbstractEventLoop,
        gathering: _Gathering,
        group: list[_Waiting],
        turn: ExitStack | None,
        failure: Exception | None,
    ) -> None:
        gathering.writing -= 1
        if turn is None:
            self._answer(group, None, failure)
        else:
            room = self._limit - len(group)
            group = group + gathering.waiting[:room]  # what gathered while the thread waited
            del gathering.waiting[:room]
            answered = False
            try:
                with in_turn(self._engine, turn):
                    self._answer(group, *self._write(group))
                    answered = True
            except Exception as error:  # releasing the locks failed: no request hangs
                if not answered:
                    self._answer(group, None, error)
        self._next(loop, gathering)

    def _written_here(self, group: list[_Waiting]) -> bool:
        """Write the group on the event loop if no other writer is in the way: SQLite's
        writer locks free at once; on PostgreSQL, no row locked by another transaction (a
        lock not granted at once fails the group's transaction: nothing of it is kept).
        Whether it was answered here (written, or failed)."""
        answered = False
        try:
            with writer_locks_if_free(self._engine) as free:
                if free:
                    results, error = self._write(group, self._inline_engine)
                    if error is not None and waited_for_a_lock(error):
                        return False  # written again by a thread, which may wait
                    self._answer(group, results, error)
                    answered = True
        except Exception as error:  # taking or releasing the locks failed: no request hangs
            if not answered:
                self._answer(group, None, error)
            return True
        return answered

    def _write(
        self, group: list[_Waiting], engine: Engine | None = None
    ) -> tuple[list[EventResult] | None, Exception | None]:
        requests = [request for request, _ in group]
        try:
            return self._record(engine or self._engine, requests, self._clock), None
        except Exception as error:  # the group's failure is each request's
            return None, error

    def _written(
        self,
        loop: asyncio.AbstractEventLoop,
        gathering: _Gathering,
        group: list[_Waiting],
        done: asyncio.Future[tuple[list[EventResult] | None, Exception | None]],
    ) -> None:
        gathering.writing -= 1
        if done.cancelled():  # the loop's threads were stopped before it was written
            self._answer(group, None, RuntimeError("the server is stopping"))
        else:
            self._answer(group, *done.result())
        self._next(loop, gathering)  # what gathered meanwhile

    def _next(self, loop: asyncio.AbstractEventLoop, gathering: _Gathering) -> None:
        """Begin the next group, if events wait; else forget the loop until it has some."""
        self._schedule(loop, gathering)
        if not (gathering.waiting or gathering.scheduled or gathering.writing):
            self._loops.pop(loop, None)

    def _answer(
        self, group: list[_Waiting], results: list[EventResult] | None, error: Exception | None
    ) -> None:
        for index, (_, future) in enumerate(group):
            if future.done():  # the client has gone
                continue
            if results is not None:
                future.set_result(results[index])
            else:
                future.set_exception(error or RuntimeError("not recorded"))
        with self._state:
            self._unanswered -= len(group)
            self._state.notify_all()
