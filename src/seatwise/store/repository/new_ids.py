"""Ids chosen by the caller (an account's, a plan's) are checked and stored in one
transaction; two transactions creating the same id at once must not both pass the check.

SQLite has one writer at a time, so its check and insert are never interleaved. On PostgreSQL
a transaction holds a lock on the new id (an advisory lock, released at its end) before it
looks: a second creator of the same id waits for the first to end, then finds its row, and
is refused as it would have been a moment later — not failed by the unique key."""

from __future__ import annotations

from sqlalchemy import Connection, text

_HOLD = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


def hold_new_ids(connection: Connection, *names: str) -> None:
    """Hold each name (``"account:acme"``, ``"plan:acme"``) until the transaction ends, in
    one order whoever asks, so that two creators never wait for each other in a circle."""
    if connection.dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        connection.execute(_HOLD, {"name": name})
