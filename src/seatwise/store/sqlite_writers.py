"""SQLite's writers take turns: the threads of a process on a lock of the process, the
processes on a lock of a file beside the database (``flock``), so that a writer is woken as
soon as the one before it is done instead of polling in SQLite's busy handler.
:func:`writers` waits its turn (for a transaction that will write);
:func:`writer_locks_if_free` takes the turn only if it is free at once (for whoever must not
wait: the server's event loop); :func:`wait_for_turn` waits for it in one thread and
:func:`in_turn` writes in it in another (the event loop writes once a thread has waited)."""

from __future__ import annotations

import os

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system: SQLite's busy timeout orders writers
    fcntl = None  # type: ignore[assignment]
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from typing import BinaryIO

from sqlalchemy import Engine

_SQLITE_WRITERS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()
_HELD_WRITER_LOCKS: ContextVar[str | None] = ContextVar("seatwise_writer_locks", default=None)


def _thread_lock(engine: Engine) -> threading.Lock:
    with _GUARD:
        return _SQLITE_WRITERS.setdefault(str(engine.url), threading.Lock())


@contextmanager
def writer_locks_if_free(engine: Engine) -> Iterator[bool]:
    """SQLite's writer locks (this process's and the database file's) taken only if both are
    free at this moment: True, and a :func:`~seatwise.store.database.write_transaction` in
    the block (in this thread) writes under them; False, at once, if another writer holds
    either (nothing is taken). Whoever must not wait for another writer (the server's event
    loop) asks this first. Other databases have no such locks: True."""
    if engine.dialect.name != "sqlite":
        yield True
        return
    threads = _thread_lock(engine)
    if not threads.acquire(blocking=False):
        yield False
        return
    try:
        with _file_lock_if_free(engine.url.database) as free:
            token = _HELD_WRITER_LOCKS.set(str(engine.url) if free else None)
            try:
                yield free
            finally:
                _HELD_WRITER_LOCKS.reset(token)
    finally:
        threads.release()


@contextmanager
def writers(engine: Engine, busy_seconds: Callable[[], float]) -> Iterator[None]:
    """SQLite has one writer at a time, and its busy handler waits for the lock by polling
    with sleeps of up to 100 ms: a writer may sleep long after the lock is free (two server
    workers writing at once: 2.6 s at the 99th percentile). So writers queue instead: the
    threads of a process on a lock of the process, in order; the processes on a lock of the
    file beside the database (``flock``: the kernel wakes a waiter when it is released, and
    releases it when a process dies), waited for at most ``busy_seconds()``. Where that
    file cannot be opened, SQLite's busy timeout still orders the processes."""
    if engine.dialect.name != "sqlite" or _HELD_WRITER_LOCKS.get() == str(engine.url):
        yield  # not SQLite, or the locks are held already (writer_locks_if_free)
        return
    with _thread_lock(engine), _file_lock(engine.url.database, busy_seconds):
        yield


def _open_lock_file(database: str | None) -> BinaryIO | None:
    """The file beside the database whose ``flock`` orders the processes; None where there
    is none (an in-memory database, no ``fcntl``, a file that cannot be opened): SQLite's own
    lock orders the writers then."""
    if not database or database == ":memory:" or fcntl is None:
        return None
    try:
        return open(f"{database}-writer.lock", "a+b")  # the caller closes it
    except OSError:
        return None


@contextmanager
def _file_lock(database: str | None, busy_seconds: Callable[[], float]) -> Iterator[None]:
    handle = _open_lock_file(database)
    if handle is None:
        yield
        return
    with handle:
        locked = _take(handle.fileno(), busy_seconds())
        try:
            yield
        finally:
            if locked:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _file_lock_if_free(database: str | None) -> Iterator[bool]:
    handle = _open_lock_file(database)
    if handle is None:
        yield True
        return
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _take(descriptor: int, seconds: float) -> bool:
    """Take the file's lock: at once if it is free, else by waiting in the kernel (woken as
    soon as it is released) for at most ``seconds``, SQLite's busy timeout. Then the writer
    goes on without it and SQLite's own lock decides, with its "database is locked" after its
    timeout, as before this lock existed: a writer stuck for ever holds the others only as
    long as SQLite would have. (Polling instead, even every millisecond, lost the lock to the
    process that had just released it: two workers' single events 2,182 → 1,561/s.)"""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    own = os.dup(descriptor)  # the same open file, so the same lock, for the waiting thread
    taken = threading.Event()
    guard = threading.Lock()
    abandoned = False

    def wait() -> None:
        try:
            fcntl.flock(own, fcntl.LOCK_EX)
            with guard:
                if abandoned:  # too late: the writer went on without it
                    fcntl.flock(own, fcntl.LOCK_UN)
                else:
                    taken.set()
        finally:
            os.close(own)

    threading.Thread(target=wait, name="seatwise-sqlite-writer-lock", daemon=True).start()
    if taken.wait(seconds):
        return True
    with guard:
        if taken.is_set():
            return True
        abandoned = True
    return False


def wait_for_turn(engine: Engine, busy_seconds: Callable[[], float]) -> ExitStack:
    """Wait for the writers' turn (as :func:`writers` does) and keep it: the turn is held
    until the returned stack is closed, by :func:`in_turn` or directly, from any thread."""
    turn = ExitStack()
    turn.enter_context(writers(engine, busy_seconds))
    return turn


@contextmanager
def in_turn(engine: Engine, turn: ExitStack) -> Iterator[None]:
    """Write in a turn :func:`wait_for_turn` took (perhaps in another thread): a
    :func:`~seatwise.store.database.write_transaction` in the block takes no lock again; the
    turn ends with the block."""
    token = _HELD_WRITER_LOCKS.set(str(engine.url))
    try:
        with turn:
            yield
    finally:
        _HELD_WRITER_LOCKS.reset(token)
