"""The database URL, engines, and ``migrate`` (Alembic, shipped inside the package)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import StaticPool

DEFAULT_URL = "sqlite:///./seatwise.db"
MEMORY_URLS = ("sqlite://", "sqlite:///:memory:")
WRITE_INTENT = "seatwise_write_intent"


def database_url(explicit: str | None = None) -> str:
    """``explicit``, else ``SEATWISE_DATABASE_URL``, else ``./seatwise.db`` (SQLite)."""
    url = explicit or os.environ.get("SEATWISE_DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


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
            engine = create_engine(resolved, connect_args={"timeout": 30})

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


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it holds the write lock from its start."""
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_INTENT: True})
        with connection.begin():
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
    command.upgrade(alembic_config(resolved), revision)
    return make_engine(resolved).url.render_as_string(hide_password=True)
