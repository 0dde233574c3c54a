"""What a billing run reads of a chunk of accounts (``batch.Preloaded.read``), on SQLite and
PostgreSQL: every statement finds each account's rows by an index, never by reading a whole
table — even where the planner has no statistics (a store just loaded, or a table a run fills
as it goes; this machine's PostgreSQL runs without autovacuum). Before, PostgreSQL estimated
``account_id IN (…50 ids…)`` as a quarter of a table it knew nothing of and scanned the
timeline for every chunk: a run's reads grew with the square of its accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from plan_store import add_members, store_with_plan
from sqlalchemy import Engine, event

from seatwise.engine.accounts import AccountSpec
from seatwise.engine.batch import Preloaded
from seatwise.engine.clock import FixedClock
from seatwise.store import bulk
from seatwise.store.database import write_transaction
from seatwise.store.tables import timeline_events

START = datetime(2025, 1, 1, tzinfo=UTC)
CLOCK = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
ACCOUNTS = [f"acc{n:03d}" for n in range(60)]
EVENTS_EACH = 400  # 24,000 events in all
BIG_TABLES = ("timeline_events", "members")


@pytest.fixture
def engine(database_url: str) -> Engine:
    """60 accounts, each with 40 members and 400 of their changes; no statistics gathered."""
    specs = [
        AccountSpec(id=account_id, plan_id="p", subscribed_at=START) for account_id in ACCOUNTS
    ]
    engine = store_with_plan(database_url, CLOCK, specs)
    changes = [
        (a, seq, CLOCK.now(), START + timedelta(hours=seq), action, f"m{(seq // 2) % 40}")
        for a in ACCOUNTS
        for seq in range(1, EVENTS_EACH + 1)
        for action in ("activate" if seq % 2 else "deactivate",)
    ]
    with write_transaction(engine) as connection:
        add_members(connection, [(a, f"m{n}") for a in ACCOUNTS for n in range(40)])
        bulk.insert_rows(
            connection,
            timeline_events,
            ("account_id", "seq", "recorded_at", "at", "action", "member_id"),
            changes,
        )
    return engine


def test_a_chunks_reads_look_each_account_up_by_an_index(engine: Engine) -> None:
    chunk = ACCOUNTS[5:55]
    statements: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    with engine.connect() as connection:
        event.listen(connection, "before_cursor_execute", remember)
        loaded = Preloaded.read(connection, chunk)
        event.remove(connection, "before_cursor_execute", remember)
        assert sorted(loaded.stored) == chunk
        assert {len(loaded.stored[a].events) for a in chunk} == {EVENTS_EACH}
        assert {len(loaded.stored[a].account.members) for a in chunk} == {40}
        cursor: Any = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        postgresql = connection.dialect.name == "postgresql"
        plans = []
        for statement, parameters in statements:
            cursor.execute(
                ("EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN ") + statement, parameters
            )
            plans.append("\n".join(str(row[-1]) for row in cursor.fetchall()))
    read = [plan for plan in plans if any(table in plan for table in BIG_TABLES)]
    assert len(read) >= 2, plans  # the members' read and the timelines'
    for plan in read:
        for table in BIG_TABLES:
            if postgresql:
                assert f"Seq Scan on {table}" not in plan, plan
            else:
                assert f"SCAN {table}" not in plan.replace(f"SCAN {table} USING", ""), plan
