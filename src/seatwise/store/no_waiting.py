"""Writing without waiting for another writer, for whoever must not wait (the server's event
loop).

On SQLite the writers take turns through locks that can be asked for only if free
(:func:`~seatwise.store.sqlite_writers.writer_locks_if_free`). On PostgreSQL a writer waits
for the rows another transaction has locked (an account that a billing run, another server
worker or another group of events is writing); an engine made by :func:`without_lock_waits`
waits for none: a statement whose lock is not granted within :data:`LOCK_TIMEOUT_MS` fails, its
transaction is rolled back, and :func:`waited_for_a_lock` says that this is why, so that the
caller can write the same again where waiting is harmless (a thread). Only a wait for a lock
fails so; a statement that is merely slow, a commit included, runs to its end (a commit
cancelled midway could not tell whether it had happened)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from seatwise.store.database import make_engine

LOCK_TIMEOUT_MS = 1  # PostgreSQL's lock_timeout: a lock not granted within it is not waited for
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for it


def without_lock_waits(engine: Engine) -> Engine:
    """An engine over ``engine``'s PostgreSQL database whose transactions never wait for a
    lock (its own pool: a few connections, for one writer at a time); any other database's
    engine as it is."""
    if engine.dialect.name != "postgresql":
        return engine
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, lock_timeout_ms=LOCK_TIMEOUT_MS)


def waited_for_a_lock(error: BaseException) -> bool:
    """Whether ``error`` is a statement's failure to get a lock within the engine's lock
    timeout (nothing of its transaction was kept)."""
    original = error.orig if isinstance(error, DBAPIError) else error
    return getattr(original, "sqlstate", None) == _LOCK_NOT_AVAILABLE
