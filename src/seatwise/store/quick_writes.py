"""Writing a few rows without waiting for another writer, for whoever must not wait (the
server's event loop, writing a group of single events).

On SQLite the writers take turns through locks that can be asked for only if free
(:func:`~seatwise.store.sqlite_writers.writer_locks_if_free`). On PostgreSQL a writer waits
for the rows another transaction has locked (an account that a billing run, another server
worker or another group of events is writing); an engine made by :func:`quick_writes_engine`
waits for none: a statement whose lock is not granted within :data:`LOCK_TIMEOUT` fails, its
transaction is rolled back, and :func:`waited_for_a_lock` says that this is why, so that the
caller can write the same again where waiting is harmless (a thread). Only a wait for a lock
fails so; a statement that is merely slow, a commit included, runs to its end (a commit
cancelled midway could not tell whether it had happened).

Its sessions also plan every lookup and key check once, by index
(:data:`~seatwise.store.driver.BY_INDEX_SETTINGS`), as
:func:`~seatwise.store.driver.lookups_planned` plans a few values' in each transaction, without
the statements each transaction sent to set those settings and put them back, twice (a group of
8 events, in-process, four pairs run alternately: 2.5–3.1 → 2.1–2.7 ms of the process's CPU). A
bigger group's lookups are still planned for their values (not prepared), without sequential
scans."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from seatwise.store.database import make_engine
from seatwise.store.driver import BY_INDEX_SETTINGS

LOCK_TIMEOUT = "1ms"  # PostgreSQL's lock_timeout: a lock not granted within it is not waited for
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for it


def quick_writes_engine(engine: Engine) -> Engine:
    """An engine over ``engine``'s PostgreSQL database whose transactions never wait for a
    lock and plan their lookups by index (its own pool); any other database's engine as it
    is."""
    if engine.dialect.name != "postgresql":
        return engine
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, {"lock_timeout": LOCK_TIMEOUT, **BY_INDEX_SETTINGS})


def waited_for_a_lock(error: BaseException) -> bool:
    """Whether ``error`` is a statement's failure to get a lock within the engine's lock
    timeout (nothing of its transaction was kept)."""
    original = error.orig if isinstance(error, DBAPIError) else error
    return getattr(original, "sqlstate", None) == _LOCK_NOT_AVAILABLE
