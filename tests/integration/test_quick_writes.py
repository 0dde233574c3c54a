"""Writing a few rows without waiting for another writer on PostgreSQL: an engine whose
statements fail at once on a locked row, nothing of their transaction kept, and the failure
told apart from others (the store's own engine still waits); its sessions plan lookups by
index once for all, so a transaction sets nothing more for them."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from seatwise.store.database import make_engine, migrate
from seatwise.store.driver import lookups_planned
from seatwise.store.quick_writes import quick_writes_engine, waited_for_a_lock
from seatwise.store.repository.accounts import lock_accounts_later


def test_only_the_quick_writes_engine_fails_on_a_locked_row(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    if engine.dialect.name != "postgresql":
        assert quick_writes_engine(engine) is engine  # SQLite: the writer locks say it
        engine.dispose()
        pytest.skip("SQLite's writers take turns by locks asked for only if free")
    hasty = quick_writes_engine(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE held (id int PRIMARY KEY, note text)"))
        connection.execute(text("INSERT INTO held VALUES (1, 'first')"))
    with engine.connect() as plain, hasty.connect() as quick:
        assert plain.execute(text("SHOW lock_timeout")).scalar() == "0"  # waits, as ever
        assert quick.execute(text("SHOW lock_timeout")).scalar() == "1ms"
        assert quick.execute(text("SHOW plan_cache_mode")).scalar() == "force_generic_plan"
        assert quick.execute(text("SHOW enable_seqscan")).scalar() == "off"
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


def test_a_quick_writes_transaction_sets_nothing_for_its_few_lookups(database_url: str) -> None:
    """A transaction of the store's engine sets the by-index settings for a few lookups (and
    keeps the old ones in ``seatwise.settings_before``); one of the quick writes engine, whose
    session has them already, sends no statement for that."""
    migrate(database_url)
    engine = make_engine(database_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("SQLite plans each lookup by its indexes")
    hasty = quick_writes_engine(engine)
    kept = text("SELECT current_setting('seatwise.settings_before', true)")
    found: dict[str, object] = {}
    for name, used in (("store", engine), ("quick", hasty)):
        with used.begin() as connection:
            with lookups_planned(connection, 8):
                assert lock_accounts_later(connection, ["nobody"])() == set()
            found[name] = connection.execute(kept).scalar()
        used.dispose()
    assert found["store"] == "auto on"  # the settings it had, put back after
    assert found["quick"] in (None, "")  # nothing set: the session's own
