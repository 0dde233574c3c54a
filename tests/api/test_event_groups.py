"""Single events reported at the same time are recorded together (a group commit), and each
request is answered as if it had been alone: its own status, seq and reason; the same vendor id
sent twice at once recorded once; a failure of the group is each request's failure."""

from __future__ import annotations

import asyncio
import fcntl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from psycopg.errors import LockNotAvailable
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError
from starlette.routing import Route

from seatwise.api import create_app, event_groups, events
from seatwise.api.event_groups import EventGroups
from seatwise.engine import ingest
from seatwise.engine.access import create_key
from seatwise.engine.accounts import AccountSpec, NewMember, create_account
from seatwise.engine.clock import Clock, FixedClock
from seatwise.engine.ingest import ACCEPTED, EventRequest, EventResult, record_events
from seatwise.engine.plans import create_plan
from seatwise.store import access_repository
from seatwise.store.database import make_engine, migrate, write_transaction
from seatwise.store.repository.scope import account_scope

START = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
ACCOUNTS = ("a1", "a2", "a3", "a4")
T = TypeVar("T")


def store(url: str) -> tuple[Engine, FixedClock, str]:
    migrate(url)
    engine = make_engine(url)
    clock = FixedClock(START)
    plan = {"preset": "seats-monthly", "currency": "EUR", "price": "10.00"}
    create_plan(engine, plan, clock, "p")
    for account_id in ACCOUNTS:
        spec = AccountSpec(
            id=account_id,
            plan_id="p",
            subscribed_at=START,
            payment_method="succeeds",
            members=(NewMember("admin", manage_billing=True),),
        )
        create_account(engine, spec, clock)
    clock.instant = NOW
    return engine, clock, create_key(engine, "tests", "write", clock).secret


def test_concurrent_single_events_are_answered_each_and_recorded_once(database_url: str) -> None:
    engine, clock, key = store(database_url)
    app = create_app(engine, clock)
    auth = {"Authorization": f"Bearer {key}"}
    firsts = [(ACCOUNTS[n % 4], f"e{n}", f"m{n}") for n in range(40)]
    again = firsts[:6]  # the same ids and bodies, sent at the same time as the first ones

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:

            def post(account: str, body: dict[str, str]) -> asyncio.Task[httpx.Response]:
                url = f"/v1/accounts/{account}/events"
                return asyncio.ensure_future(client.post(url, json=body, headers=auth))

            tasks = [
                post(account, {"id": event_id, "action": "activate", "member": member})
                for account, event_id, member in [*firsts, *again]
            ]
            tasks.append(post("a1", {"action": "deactivate", "member": "nobody"}))
            tasks.append(post("zz", {"action": "activate", "member": "m"}))
            return list(await asyncio.gather(*tasks))

    answers = asyncio.run(send_all())
    *recorded, nobody, no_account = answers
    assert [a.status_code for a in recorded] == [201] * 46
    by_id: dict[str, list[dict[str, object]]] = {}
    for answer in recorded:
        body = answer.json()
        by_id.setdefault(str(body["id"]), []).append(body)
    for account, event_id, _member in firsts:
        bodies = by_id[event_id]
        assert {b["status"] for b in bodies} == {"accepted"}
        assert {b["account"] for b in bodies} == {account}
        assert {b["at"] for b in bodies} == {"2026-03-10T12:00:00Z"}
        assert len({b["seq"] for b in bodies}) == 1  # a retry gets the first answer
        assert sorted(bool(b["replayed"]) for b in bodies) == (
            [False, True] if len(bodies) == 2 else [False]
        )
    for account in ACCOUNTS:  # each account's seqs follow its first event without a gap
        seqs = sorted(int(str(b[0]["seq"])) for b in by_id.values() if b[0]["account"] == account)
        assert seqs == list(range(seqs[0], seqs[0] + 10))
    assert nobody.status_code == 409
    assert nobody.headers["content-type"] == "application/problem+json"
    assert "nobody" in nobody.json()["detail"]
    assert no_account.status_code == 404 and "no account 'zz'" in no_account.json()["detail"]
    with engine.connect() as connection:
        counts = dict(
            connection.execute(
                text(
                    "SELECT account_id, count(*) FROM timeline_events "
                    "WHERE member_id LIKE 'm%' GROUP BY account_id"
                )
            ).all()
        )
        remembered = connection.execute(text("SELECT count(*) FROM event_ids")).scalar_one()
    assert counts == dict.fromkeys(ACCOUNTS, 10)
    assert remembered == 40
    engine.dispose()


class Held:
    """A recorder that holds its first call until released, so that others gather."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail_next = False

    def __call__(
        self, _engine: Engine, requests: Sequence[EventRequest], _clock: Clock
    ) -> list[EventResult]:
        self.calls.append([str(r.member) for r in requests])
        if len(self.calls) == 1:
            self.entered.set()
            self.release.wait(10)
        if self.fail_next:
            self.fail_next = False
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return [EventResult(ACCEPTED, reason=r.member, seq=n) for n, r in enumerate(requests)]


def request(member: str) -> EventRequest:
    return EventRequest("a1", "activate", member)


def test_single_events_are_served_by_a_plain_route_tried_first_and_documented_by_fastapi(
    tmp_path: Path,
) -> None:
    """The busiest route skips FastAPI's wrapping of an endpoint (a sixth of a single event's
    instructions): a plain Starlette route, tried before every other, serves it; the
    APIRoute of the same endpoint documents it. Both call one function, so what it answers
    is the same (the API's tests, Schemathesis among them, go through the plain route)."""
    engine, clock, key = store(f"sqlite:///{tmp_path / 'routes.db'}")
    app = create_app(engine, clock)
    first = app.router.routes[0]
    assert type(first) is Route
    assert (first.path, first.methods, first.endpoint) == (
        "/v1/accounts/{account_id}/events",
        {"POST"},
        events.record_one,
    )
    documented = [  # the events router's, which the app includes
        route
        for route in events.router.routes
        if isinstance(route, APIRoute) and route.path == first.path
    ]
    assert [(route.methods, route.endpoint) for route in documented] == [
        ({"POST"}, events.record_one)
    ]
    operation = app.openapi()["paths"]["/v1/accounts/{account_id}/events"]["post"]
    assert operation["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EventResultOut"
    }
    with TestClient(app) as client:
        answer = client.post(
            "/v1/accounts/a1/events",
            headers={"Authorization": f"Bearer {key}"},
            json={"id": "e1", "action": "activate", "member": "m1"},
        )
        wrong_method = client.get(
            "/v1/accounts/a1/events", headers={"Authorization": f"Bearer {key}"}
        )
    assert (answer.status_code, answer.json()["status"], answer.json()["seq"]) == (
        201,
        "accepted",
        2,
    )
    assert (wrong_method.status_code, wrong_method.headers["allow"]) == (405, "POST")
    assert wrong_method.headers["content-type"] == "application/problem+json"
    engine.dispose()


def test_events_waiting_while_a_group_commits_form_the_next_group_in_their_order() -> None:
    held = Held()
    groups = EventGroups(make_engine("sqlite://"), FixedClock(NOW), record=held, inline=False)

    async def scenario() -> list[EventResult]:
        first = asyncio.ensure_future(groups.record(request("first")))
        await asyncio.to_thread(held.entered.wait, 10)
        rest = [asyncio.ensure_future(groups.record(request(f"m{n}"))) for n in range(5)]
        await asyncio.sleep(0.05)
        held.release.set()
        return list(await asyncio.gather(first, *rest))

    answers = asyncio.run(scenario())
    assert held.calls == [["first"], ["m0", "m1", "m2", "m3", "m4"]]
    assert [(a.reason, a.seq) for a in answers] == [
        ("first", 0),
        ("m0", 0),
        ("m1", 1),
        ("m2", 2),
        ("m3", 3),
        ("m4", 4),
    ]
    groups.close()


def test_with_groups_in_flight_the_next_group_is_written_while_one_still_commits() -> None:
    """PostgreSQL's way (``in_flight`` > 1): the events sent while a group is being written
    form the next group, written at once by another thread, not after the first."""
    held = Held()
    groups = EventGroups(
        make_engine("sqlite://"), FixedClock(NOW), record=held, inline=False, in_flight=2
    )

    async def scenario() -> list[EventResult]:
        first = asyncio.ensure_future(groups.record(request("first")))
        await asyncio.to_thread(held.entered.wait, 10)
        rest = [asyncio.ensure_future(groups.record(request(f"m{n}"))) for n in range(3)]
        written = await asyncio.wait_for(asyncio.gather(*rest), 10)  # the first still held
        assert not first.done()
        assert held.calls == [["first"], ["m0", "m1", "m2"]]
        held.release.set()
        return [await first, *written]

    answers = asyncio.run(scenario())
    assert [(a.reason, a.seq) for a in answers] == [("first", 0), ("m0", 0), ("m1", 1), ("m2", 2)]
    groups.close()


def test_groups_in_flight_that_name_one_account_take_its_lock_in_turn(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first group holds account a1's lock (it waits inside its transaction); the next
    group, written meanwhile by another thread, names a1 too, with a retry of the first's id:
    it waits for the lock, then finds the first answer (replayed, the same seq) and numbers
    its own event after it. a2's event, in the same group, is recorded with it."""
    engine, clock, _ = store(database_url)
    started: list[float] = []  # when each group's write began
    viewed: list[float] = []  # when each group, holding its accounts' locks, had read them
    results_of = access_repository.event_results_later  # read once the accounts are, locked

    def slow_first(connection: Connection, reported: set[tuple[str, str]]) -> object:
        sent = results_of(connection, reported)

        def answer() -> object:
            viewed.append(time.monotonic())
            if len(viewed) == 1:  # the first group: a1 is locked by now
                time.sleep(0.4)
            return sent()

        return answer

    def timed(engine: Engine, requests: Sequence[EventRequest], clock: Clock) -> list[EventResult]:
        started.append(time.monotonic())
        return record_events(engine, requests, clock)

    monkeypatch.setattr(access_repository, "event_results_later", slow_first)
    groups = EventGroups(engine, clock, record=timed, inline=False, in_flight=3)

    async def scenario() -> list[EventResult]:
        first = asyncio.ensure_future(groups.record(EventRequest("a1", "activate", "x", id="e1")))
        for _ in range(1000):  # until the first group has locked a1 and read it (≤ 10 s)
            if viewed:
                break
            await asyncio.sleep(0.01)
        assert viewed, "the first group never read its accounts"
        rest = [
            groups.record(EventRequest("a1", "activate", "x", id="e1")),  # a retry
            groups.record(EventRequest("a1", "activate", "y", id="e2")),
            groups.record(EventRequest("a2", "activate", "z", id="e3")),
        ]
        return list(await asyncio.gather(first, *rest))

    one, retry, two, other = asyncio.run(scenario())
    groups.close()
    assert len(started) == 2 and started[1] - viewed[0] < 0.3  # the second began meanwhile…
    assert viewed[1] - viewed[0] >= 0.4  # …and read a1 once the first had let it go
    assert (one.status, one.replayed, retry.replayed, retry.seq) == (ACCEPTED, False, True, one.seq)
    assert one.seq is not None and two.seq == one.seq + 1
    assert (two.status, other.status) == (ACCEPTED, ACCEPTED)
    with engine.connect() as connection:
        recorded = connection.execute(
            text(
                "SELECT account_id, member_id, seq FROM timeline_events "
                "WHERE member_id IN ('x', 'y', 'z') ORDER BY account_id, seq"
            )
        ).all()
    assert [tuple(row) for row in recorded] == [
        ("a1", "x", one.seq),
        ("a1", "y", two.seq),
        ("a2", "z", other.seq),
    ]
    engine.dispose()


def test_postgresql_writes_groups_in_flight_and_sqlite_one_at_a_time(database_url: str) -> None:
    engine = make_engine(database_url)
    expected = event_groups.IN_FLIGHT if engine.dialect.name == "postgresql" else 1
    assert EventGroups(engine, FixedClock(NOW)).in_flight == expected
    engine.dispose()


def test_a_group_that_fails_fails_each_request_and_the_writer_goes_on() -> None:
    held = Held()
    held.release.set()
    held.fail_next = True
    groups = EventGroups(make_engine("sqlite://"), FixedClock(NOW), record=held, inline=False)

    async def scenario() -> None:
        with pytest.raises(OperationalError):
            await groups.record(request("lost"))
        after = await groups.record(request("next"))
        assert (after.status, after.reason) == (ACCEPTED, "next")

    asyncio.run(scenario())
    groups.close()


def test_closing_records_what_waits_and_refuses_what_comes_after() -> None:
    held = Held()
    groups = EventGroups(make_engine("sqlite://"), FixedClock(NOW), record=held, inline=False)

    async def scenario() -> EventResult:
        waiting = asyncio.ensure_future(groups.record(request("waiting")))
        await asyncio.to_thread(held.entered.wait, 10)
        closing = asyncio.ensure_future(asyncio.to_thread(groups.close))
        held.release.set()
        answer = await waiting
        await closing
        with pytest.raises(RuntimeError, match="stopping"):
            await groups.record(request("late"))
        return answer

    assert asyncio.run(scenario()).reason == "waiting"


def test_an_event_in_an_account_scope_is_recorded_alone_in_that_scope(tmp_path: Path) -> None:
    """The writer's groups are the vendor's; a session's event keeps its session's scope, so
    another account is unknown to it as everywhere else."""
    engine, clock, _ = store(f"sqlite:///{tmp_path / 'scoped.db'}")
    groups = EventGroups(engine, clock)

    async def scenario() -> tuple[EventResult, EventResult]:
        with account_scope("a1"):
            other = await groups.record(EventRequest("a2", "activate", "x"))
            own = await groups.record(EventRequest("a1", "activate", "y"))
        return other, own

    other, own = asyncio.run(scenario())
    assert (other.status, other.reason) == ("refused", "no account 'a2'")
    assert (own.status, own.at) == (ACCEPTED, NOW)
    groups.close()
    engine.dispose()


def test_the_event_loop_writes_a_group_itself_when_no_other_writer_is_in_its_way(
    database_url: str,
) -> None:
    """On SQLite with the writer locks free at once; on PostgreSQL through an engine of its
    own whose transactions wait for no lock (a lock not granted within 1 ms fails)."""
    engine, clock, _ = store(database_url)
    writers: list[tuple[int, Engine]] = []

    def watched(
        engine: Engine, requests: Sequence[EventRequest], clock: Clock
    ) -> list[EventResult]:
        writers.append((threading.get_ident(), engine))
        return record_events(engine, requests, clock)

    groups = EventGroups(engine, clock, record=watched)

    async def scenario() -> tuple[int, list[EventResult]]:
        sent = [groups.record(EventRequest("a1", "activate", f"m{n}")) for n in range(5)]
        return threading.get_ident(), list(await asyncio.gather(*sent))

    loop_thread, answers = asyncio.run(scenario())
    assert [thread for thread, _ in writers] == [loop_thread]  # one group, on the event loop
    assert [(a.status, a.seq) for a in answers] == [(ACCEPTED, seq) for seq in range(2, 7)]
    ((_, written_with),), postgresql = writers, engine.dialect.name == "postgresql"
    assert (written_with is engine) == (not postgresql)
    if postgresql:
        with written_with.connect() as connection:
            assert connection.execute(text("SHOW lock_timeout")).scalar() == "1ms"
    groups.close()
    engine.dispose()


@contextmanager
def held_by_a_thread(
    take: Callable[[], AbstractContextManager[object]],
) -> Iterator[threading.Event]:
    """A lock taken by ``take`` in a thread of its own (another writer) and held there until
    the event given is set (or 10 s), then given back; the block runs while it is held."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with take():
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(10)
    try:
        yield release
    finally:
        release.set()
        thread.join()


async def twenty_turns(at_the_tenth: Callable[[], Awaitable[T]]) -> T:
    """Twenty turns of the event loop, 10 ms apart (what a blocked loop could not do), the
    tenth awaiting ``at_the_tenth``; what it gave."""
    turns, tenth = 0, None
    while turns < 20:
        await asyncio.sleep(0.01)
        turns += 1
        if turns == 10:
            tenth = await at_the_tenth()
    assert turns == 20 and tenth is not None
    return tenth


def test_on_postgresql_a_group_waiting_for_a_locked_account_is_written_by_a_thread(
    database_url: str,
) -> None:
    """A billing run holds account a1's row: the event loop's write of a1's event fails at
    once (nothing kept) and a thread writes it again, waiting for the row, while the loop
    turns and writes a2's event, sent meanwhile, itself. The event is recorded once."""
    engine, clock, _ = store(database_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("SQLite's writers wait for a lock of the whole file: the test above")
    writers: list[tuple[int, list[str], bool]] = []

    def watched(
        written_with: Engine, requests: Sequence[EventRequest], clock: Clock
    ) -> list[EventResult]:
        writers.append((threading.get_ident(), [str(r.member) for r in requests], False))
        try:
            results = record_events(written_with, requests, clock)
        except Exception:
            writers[-1] = (*writers[-1][:2], True)
            raise
        return results

    groups = EventGroups(engine, clock, record=watched)

    @contextmanager
    def account_locked() -> Iterator[None]:  # as a billing run holds an account it bills
        with engine.begin() as connection:
            connection.execute(text("SELECT id FROM accounts WHERE id = 'a1' FOR UPDATE"))
            yield

    async def scenario(release: threading.Event) -> tuple[int, list[EventResult]]:
        late = asyncio.ensure_future(groups.record(EventRequest("a1", "activate", "late")))
        other = await twenty_turns(  # the loop turns while the event waits for the account
            lambda: asyncio.wait_for(groups.record(EventRequest("a2", "activate", "other")), 5)
        )
        assert not late.done()
        release.set()
        return threading.get_ident(), [await asyncio.wait_for(late, 10), other]

    with held_by_a_thread(account_locked) as release:
        loop_thread, answers = asyncio.run(scenario(release))
    assert [(a.status, a.seq) for a in answers] == [(ACCEPTED, 2), (ACCEPTED, 2)]
    on_loop = [(thread == loop_thread, members, failed) for thread, members, failed in writers]
    assert on_loop[0] == (True, ["late"], True)  # tried on the loop: a1 locked, failed at once
    assert sorted(on_loop[1:]) == [(False, ["late"], False), (True, ["other"], False)]
    with engine.connect() as connection:
        recorded = connection.execute(
            text("SELECT count(*) FROM timeline_events WHERE member_id = 'late'")
        ).scalar()
    assert recorded == 1
    groups.close()
    engine.dispose()


@pytest.mark.parametrize("holder", ["this process", "another process"])
def test_while_another_writer_holds_the_lock_a_thread_waits_for_it_not_the_event_loop(
    tmp_path: Path, holder: str
) -> None:
    """A billing run (or another server worker) holds SQLite's writer lock: the event loop
    goes on serving while a thread waits for the lock; once it is free the loop writes the
    event, with the one that came meanwhile, in one group."""
    engine, clock, _ = store(f"sqlite:///{tmp_path / 'busy.db'}")
    other = make_engine(f"sqlite:///{tmp_path / 'busy.db'}")  # another writer of the file
    writers: list[tuple[int, list[str]]] = []

    def watched(
        engine: Engine, requests: Sequence[EventRequest], clock: Clock
    ) -> list[EventResult]:
        writers.append((threading.get_ident(), [str(r.member) for r in requests]))
        return record_events(engine, requests, clock)

    groups = EventGroups(engine, clock, record=watched)

    @contextmanager
    def lock_held() -> Iterator[None]:
        if holder == "this process":
            with write_transaction(other):
                yield
            return
        # another process's writer: the lock of the file beside the database (flock), as
        # taken through an open file of its own
        with open(tmp_path / "busy.db-writer.lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield

    async def scenario(release: threading.Event) -> tuple[int, list[EventResult]]:
        late = asyncio.ensure_future(groups.record(EventRequest("a1", "activate", "late")))

        async def send_another() -> asyncio.Future[EventResult]:
            return asyncio.ensure_future(groups.record(EventRequest("a1", "activate", "x")))

        later = await twenty_turns(send_another)  # the loop turns while the event waits
        assert not late.done()
        release.set()
        return threading.get_ident(), list(await asyncio.gather(late, later))

    with held_by_a_thread(lock_held) as release:
        loop_thread, answers = asyncio.run(scenario(release))
    assert [(a.status, a.seq) for a in answers] == [(ACCEPTED, 2), (ACCEPTED, 3)]
    assert writers == [(loop_thread, ["late", "x"])]  # one group, written on the loop
    groups.close()
    engine.dispose()
    other.dispose()


def test_when_the_lock_file_fails_the_request_is_answered_with_the_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Taking SQLite's locks on the event loop fails (the lock file cannot be locked): the
    group's requests get the failure at once (no request waits for ever) and the next group
    is written."""
    engine, clock, _ = store(f"sqlite:///{tmp_path / 'broken.db'}")
    groups = EventGroups(engine, clock)

    @contextmanager
    def broken(_engine: Engine) -> Iterator[bool]:
        raise OSError(37, "No locks available")
        yield True  # pragma: no cover

    async def scenario() -> EventResult:
        with monkeypatch.context() as patched:
            patched.setattr(event_groups, "writer_locks_if_free", broken)
            with pytest.raises(OSError, match="No locks available"):
                await asyncio.wait_for(groups.record(EventRequest("a1", "activate", "x")), 10)
        return await asyncio.wait_for(groups.record(EventRequest("a1", "activate", "y")), 10)

    assert asyncio.run(scenario()).status == ACCEPTED
    groups.close()
    engine.dispose()


@pytest.mark.parametrize("failure", ["a lock not waited for", "anything else"])
def test_a_lock_not_waited_for_fails_the_whole_group_never_one_accounts_events(
    database_url: str, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """An account's exact path (a cancellation) meets a lock the loop's engine would not wait
    for: the group fails as a whole (its transaction rolled back, the group then written by a
    thread), where any other failure there refuses that account's events only."""
    engine, clock, _ = store(database_url)

    def fails(*_args: object) -> object:
        if failure == "anything else":
            raise ValueError("broken")
        raise LockNotAvailable("canceling statement due to lock timeout")

    monkeypatch.setattr(ingest, "record_locked", fails)
    group = [EventRequest("a1", "cancel"), EventRequest("a2", "activate", "x")]
    if failure == "anything else":
        cancelled, added = record_events(engine, group, clock)
        assert (cancelled.status, cancelled.reason) == ("refused", "not recorded: ValueError")
        assert added.status == ACCEPTED
    else:
        with pytest.raises(LockNotAvailable):
            record_events(engine, group, clock)
        with engine.connect() as connection:  # nothing of the group was kept
            kept = connection.execute(
                text("SELECT count(*) FROM timeline_events WHERE member_id = 'x'")
            ).scalar()
        assert kept == 0
    engine.dispose()
