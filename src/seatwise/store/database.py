"""The database URL, engines, and ``migrate`` (Alembic, shipped inside the package).

:func:`open_store` is how a command opens the database: it refuses a URL Seatwise does not
store in, a missing SQLite file (it never creates one: only ``migrate`` does), a file that is
not a database, and a schema that is not migrated, each with one sentence saying what to do.
:func:`describe_database_error` turns a database failure into such a sentence.
"""

from __future__ import annotations

import functools
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system: SQLite's busy timeout orders writers
    fcntl = None  # type: ignore[assignment]
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from seatwise.core.errors import SeatwiseError

DEFAULT_URL = "sqlite:///./seatwise.db"
MEMORY_URLS = ("sqlite://", "sqlite:///:memory:")
WRITE_INTENT = "seatwise_write_intent"
URL_HELP = "sqlite:///path/to/file.db or postgresql://user@host:5432/dbname"


class StoreError(SeatwiseError):
    """The database cannot be used as it is: wrong URL, no file, not migrated."""


class StoreUnavailable(SeatwiseError):
    """The database failed or could not be reached: an operational failure, not bad input."""

    exit_code = 1


def database_url(explicit: str | None = None) -> str:
    """``explicit``, else ``SEATWISE_DATABASE_URL``, else ``./seatwise.db`` (SQLite); refuses
    (:class:`StoreError`) a URL that is neither SQLite nor PostgreSQL."""
    url = explicit or os.environ.get("SEATWISE_DATABASE_URL") or DEFAULT_URL
    for alias in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(alias):
            url = "postgresql+psycopg://" + url.removeprefix(alias)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"database URL {url!r} is not a URL: use {URL_HELP}") from None
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise StoreError(
            f"database URL: Seatwise stores in SQLite or PostgreSQL, not {parsed.drivername!r}: "
            f"use {URL_HELP}"
        )
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL; None for PostgreSQL and in-memory SQLite."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or url in MEMORY_URLS:
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def check_sqlite_file(path: Path, create: bool) -> None:
    """The file can be a database: not a folder, in a folder that exists; it must exist
    already unless ``create``."""
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a database file")
    if not path.parent.is_dir():
        raise StoreError(f"{path}: the folder {path.parent} does not exist")
    if not create and not path.exists():
        raise StoreError(
            f"no Seatwise database at {path}: run `seatwise migrate` to create it, or give "
            "--database-url (or SEATWISE_DATABASE_URL)"
        )


@functools.cache
def schema_head() -> str:
    """The newest schema revision this Seatwise knows."""
    head = ScriptDirectory.from_config(alembic_config(DEFAULT_URL)).get_current_head()
    assert head is not None
    return head


def schema_revision(connection: Connection) -> str | None:
    """The database's schema revision; None when Seatwise never migrated it (the first
    statement of a fresh connection: a failure leaves nothing to roll back)."""
    try:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as error:
        if "alembic_version" in str(error.orig):  # no such table / relation does not exist
            return None
        raise
    return None if revision is None else str(revision)


def open_store(url: str | None = None) -> Engine:
    """An engine for an existing, migrated Seatwise database (what every command but
    ``migrate`` uses); :class:`StoreError` or :class:`StoreUnavailable` in one sentence
    otherwise. Never creates a file."""
    resolved = database_url(url)
    path = sqlite_path(resolved)
    if path is not None:
        check_sqlite_file(path, create=False)
    engine = make_engine(resolved)
    where = path if path is not None else engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            revision = schema_revision(connection)
    except SQLAlchemyError as error:
        engine.dispose()
        raise StoreUnavailable(describe_database_error(error, resolved)) from None
    if revision is None:
        engine.dispose()
        raise StoreError(f"{where} is not a Seatwise database yet: run `seatwise migrate`")
    if revision != schema_head():
        engine.dispose()
        raise StoreError(
            f"{where} has schema {revision}, this Seatwise needs {schema_head()}: run "
            "`seatwise migrate`"
        )
    return engine


SAFE_AGAIN = "nothing was half-done (every change is one transaction); run the command again"


def describe_database_error(error: BaseException, url: str | None = None) -> str:
    """One sentence for a database failure: what happened, and that running again is safe."""
    original = getattr(error, "orig", None) or error
    detail = (str(original).strip().splitlines() or [type(original).__name__])[0]
    lowered = detail.lower()
    where = ""
    if url is not None:
        where = f" at {make_url(url).render_as_string(hide_password=True)}"
    if isinstance(original, sqlite3.DatabaseError) or "sqlite" in type(original).__module__:
        if "file is not a database" in lowered:
            return f"the file{where} is not an SQLite database"
        if "readonly" in lowered or "read-only" in lowered:
            return f"the database file{where} is read-only: nothing was changed"
        if "locked" in lowered or "busy" in lowered:
            return (
                f"the SQLite database{where} stayed locked by another process: nothing was "
                "changed; run the command again when it is done"
            )
        if "unable to open" in lowered:
            return f"cannot open the SQLite database{where}: {detail}"
    if (isinstance(error, DBAPIError) and error.connection_invalidated) or any(
        word in lowered
        for word in (
            "connection refused",
            "could not connect",
            "server closed",
            "terminating",
            "resolve host",
            "name or service not known",
            "timed out",
            "timeout",
        )
    ):
        return f"the database{where} could not be reached ({detail}); {SAFE_AGAIN}"
    if "does not exist" in lowered and "database" in lowered:
        return f"the database{where} does not exist ({detail})"
    return f"database error{where}: {detail}; {SAFE_AGAIN}"


def sqlite_busy_seconds() -> float:
    """How long an SQLite writer waits for another to finish: ``SEATWISE_SQLITE_BUSY_SECONDS``
    (default 30)."""
    text = os.environ.get("SEATWISE_SQLITE_BUSY_SECONDS", "30")
    try:
        seconds = float(text)
    except ValueError:
        raise StoreError(f"SEATWISE_SQLITE_BUSY_SECONDS: {text!r} is not a number") from None
    if not 0 < seconds <= 3600:
        raise StoreError("SEATWISE_SQLITE_BUSY_SECONDS: give a number of seconds up to 3600")
    return seconds


def make_engine(url: str | None = None) -> Engine:
    """An engine for the URL. SQLite gets foreign keys, a write-ahead log, a busy timeout, and
    transactions begun by SQLAlchemy (not pysqlite), deferred unless opened by
    :func:`write_transaction`."""
    resolved = database_url(url)
    if resolved.startswith("sqlite"):
        if resolved in MEMORY_URLS:  # one connection, shared, or each would see its own database
            engine = create_engine(
                resolved, connect_args={"check_same_thread": False}, poolclass=StaticPool
            )
        else:
            engine = create_engine(resolved, connect_args={"timeout": sqlite_busy_seconds()})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            connection.isolation_level = None  # SQLAlchemy, not pysqlite, begins transactions
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # Write-ahead log: readers never wait for a writer, a commit appends to one file
            # (still synced on every commit: synchronous stays FULL for money).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            # A transaction opened by write_transaction() takes the write lock at BEGIN, so two
            # writers queue (busy timeout) instead of failing on a lock upgrade; any other
            # transaction begins deferred, so readers never wait for a writer to finish.
            immediate = connection.get_execution_options().get(WRITE_INTENT, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(resolved)


_UNIT_OF_WORK: ContextVar[tuple[Engine, Connection] | None] = ContextVar(
    "seatwise_unit_of_work", default=None
)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it holds the write lock from its start.
    Inside a :func:`unit_of_work` on the same engine, the use case joins it instead: the unit
    of work commits or rolls back everything at its end."""
    joined = _UNIT_OF_WORK.get()
    if joined is not None and joined[0] is engine:
        yield joined[1]
        return
    with _writers(engine), engine.connect() as connection:
        connection.execution_options(**{WRITE_INTENT: True})
        with connection.begin():
            yield connection


_SQLITE_WRITERS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()
_HELD_WRITER_LOCKS: ContextVar[str | None] = ContextVar("seatwise_writer_locks", default=None)


def _thread_lock(engine: Engine) -> threading.Lock:
    with _GUARD:
        return _SQLITE_WRITERS.setdefault(str(engine.url), threading.Lock())


@contextmanager
def writer_locks_if_free(engine: Engine) -> Iterator[bool]:
    """SQLite's writer locks (this process's and the database file's) taken only if both are
    free at this moment: True, and a :func:`write_transaction` in the block (in this thread)
    writes under them; False, at once, if another writer holds either (nothing is taken).
    Whoever must not wait for another writer (the server's event loop) asks this first.
    Other databases have no such locks: True."""
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
def _writers(engine: Engine) -> Iterator[None]:
    """SQLite has one writer at a time, and its busy handler waits for the lock by polling
    with sleeps of up to 100 ms: a writer may sleep long after the lock is free (two server
    workers writing at once: 2.6 s at the 99th percentile). So writers queue instead: the
    threads of a process on a lock of the process, in order; the processes on a lock of the
    file beside the database (``flock``: the kernel wakes a waiter when it is released, and
    releases it when a process dies). Where that file cannot be opened, SQLite's busy
    timeout still orders the processes."""
    if engine.dialect.name != "sqlite" or _HELD_WRITER_LOCKS.get() == str(engine.url):
        yield  # not SQLite, or the locks are held already (writer_locks_if_free)
        return
    with _thread_lock(engine), _file_lock(engine.url.database):
        yield


@contextmanager
def _file_lock(database: str | None) -> Iterator[None]:
    if not database or database == ":memory:" or fcntl is None:
        yield
        return
    try:
        handle = open(f"{database}-writer.lock", "a+b")  # noqa: SIM115 - held for the block
    except OSError:
        yield
        return
    with handle:
        locked = _take(handle.fileno(), sqlite_busy_seconds())
        try:
            yield
        finally:
            if locked:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _file_lock_if_free(database: str | None) -> Iterator[bool]:
    if not database or database == ":memory:" or fcntl is None:
        yield True
        return
    try:
        handle = open(f"{database}-writer.lock", "a+b")  # noqa: SIM115 - held for the block
    except OSError:
        yield True  # as _file_lock: SQLite's own lock orders the writers
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


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Connection]:
    """One transaction that the use cases called inside it join, and whose reads see its
    writes (:func:`read_connection`): the API stores an idempotency key's response in the
    transaction of the write it answers."""
    with write_transaction(engine) as connection:
        token = _UNIT_OF_WORK.set((engine, connection))
        try:
            yield connection
        finally:
            _UNIT_OF_WORK.reset(token)


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection to read with: the unit of work's, inside one (so it sees what was written
    in it), else a new one."""
    joined = _UNIT_OF_WORK.get()
    if joined is not None and joined[0] is engine:
        yield joined[1]
        return
    with engine.connect() as connection:
        yield connection


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("seatwise.store") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def memory_engine() -> Engine:
    """A fresh in-memory SQLite database with the schema, migrated like any other."""
    engine = make_engine("sqlite://")
    config = alembic_config("sqlite://")
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()
    return engine


def migrate(url: str | None = None, revision: str = "head") -> str:
    """Create or upgrade the schema to ``revision``; returns the URL migrated (no password)."""
    resolved = database_url(url)
    path = sqlite_path(resolved)
    if path is not None:
        check_sqlite_file(path, create=True)
    try:
        command.upgrade(alembic_config(resolved), revision)
    except SQLAlchemyError as error:
        raise StoreUnavailable(describe_database_error(error, resolved)) from None
    return make_engine(resolved).url.render_as_string(hide_password=True)
