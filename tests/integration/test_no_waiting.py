"""Writing without waiting for another writer on PostgreSQL: an engine whose statements fail at
once on a locked row, nothing of their transaction kept, and the failure told apart from
others; the store's own engine still waits."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from seatwise.store.database import make_engine, migrate
from seatwise.store.no_waiting import waited_for_a_lock, without_lock_waits


def test_only_the_engine_without_lock_waits_fails_on_a_locked_row(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    if engine.dialect.name != "postgresql":
        assert without_lock_waits(engine) is engine  # SQLite: the writer locks say it
        engine.dispose()
        pytest.skip("SQLite's writers take turns by locks asked for only if free")
    hasty = without_lock_waits(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE held (id int PRIMARY KEY, note text)"))
        connection.execute(text("INSERT INTO held VALUES (1, 'first')"))
    with engine.connect() as plain, hasty.connect() as quick:
        assert plain.execute(text("SHOW lock_timeout")).scalar() == "0"  # waits, as ever
        assert quick.execute(text("SHOW lock_timeout")).scalar() == "1ms"
    with engine.begin() as holder:
        holder.execute(text("SELECT id FROM held WHERE id = 1 FOR UPDATE"))
        with pytest.raises(DBAPIError) as locked, hasty.begin() as connection:
            connection.execute(text("INSERT INTO held VALUES (2, 'kept?')"))
            connection.execute(text("UPDATE held SET note = 'changed' WHERE id = 1"))
        assert waited_for_a_lock(locked.value)
        assert waited_for_a_lock(locked.value.orig)  # type: ignore[arg-type]
    with pytest.raises(DBAPIError) as duplicate, hasty.begin() as connection:
        connection.execute(text("INSERT INTO held VALUES (1, 'again')"))
    assert not waited_for_a_lock(duplicate.value)
    assert not waited_for_a_lock(ValueError("not a database's"))
    with engine.connect() as connection:  # nothing of the failed transaction was kept
        rows = connection.execute(text("SELECT id, note FROM held ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, "first")]
    hasty.dispose()
    engine.dispose()
