"""The database URL, engines, and ``migrate`` (Alembic, shipped inside the package).

:func:`open_store` is how a command opens the database: it refuses a URL Seatwise does not
store in, a missing SQLite file (it never creates one: only ``migrate`` does), a file that is
not a database, and a schema that is not migrated, each with one sentence saying what to do.
:func:`describe_database_error` turns a database failure into such a sentence.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Iterator, Mapping
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
from seatwise.store import sqlite_writers

DEFAULT_URL = "sqlite:///./seatwise.db"
MEMORY_URLS = ("sqlite://", "sqlite:///:memory:")
WRITE_INTENT = "seatwise_write_intent"
SESSION_SETTINGS = "seatwise_session_settings"  # a connection's info: PostgreSQL settings set
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


def _none_as_null(_value: None) -> None:
    return None


def _bind_none_directly() -> None:
    """Python's sqlite3 binds an int, float, str or bytes as it is, and looks anything else
    up as an object to adapt: for None (and a bool), a miss in its adapters, then two
    attributes looked for and not found, each raising and formatting an ``AttributeError``
    — about 3,300 instructions a value, 6,575 of them in a billing run of 200 accounts
    (its lines' ``corrects``, a first status's ``from_status``…). An adapter registered
    for them is found at once; the values bound are the same (NULL; a bool as the integer
    it is). A billing run of 200 accounts 2,193M → 2,179M instructions (callgrind).
    Registered for the process (sqlite3's adapters are the module's); again is the same."""
    sqlite3.register_adapter(type(None), _none_as_null)
    sqlite3.register_adapter(bool, int)


def make_engine(url: str | None = None, settings: Mapping[str, str] | None = None) -> Engine:
    """An engine for the URL. SQLite gets foreign keys, a write-ahead log, a busy timeout, and
    transactions begun by SQLAlchemy (not pysqlite), deferred unless opened by
    :func:`write_transaction`. PostgreSQL's sessions are in UTC, with ``settings`` (names and
    values of PostgreSQL's settings, set once per connection; kept in each connection's
    ``info`` as :data:`SESSION_SETTINGS`: :mod:`seatwise.store.quick_writes`)."""
    resolved = database_url(url)
    if resolved.startswith("sqlite"):
        _bind_none_directly()
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
    engine = create_engine(resolved)
    chosen = dict(settings or {})
    # one round trip for all (a text of constants: the names and values are the caller's own)
    session = "; ".join(
        ["SET TIME ZONE 'UTC'", *(f"SET {name} = '{value}'" for name, value in chosen.items())]
    )

    @event.listens_for(engine, "connect")
    def _utc_session(connection: Any, record: Any) -> None:
        # psycopg gives instants in the session's time zone: in UTC they come as datetime.UTC
        # values, the store's own, with nothing to convert per value; and no SQL depends on
        # the zone a server (or a URL) sets.
        autocommit = connection.autocommit
        connection.autocommit = True
        connection.execute(session)
        connection.autocommit = autocommit
        record.info[SESSION_SETTINGS] = chosen

    return engine


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
    with sqlite_writers.writers(engine, sqlite_busy_seconds), engine.connect() as connection:
        connection.execution_options(**{WRITE_INTENT: True})
        with connection.begin():
            yield connection


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
