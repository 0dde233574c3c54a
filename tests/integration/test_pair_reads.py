"""Reads of (account, member) and (account, event id) pairs (``bulk.select_pairs``), on SQLite
and PostgreSQL: the rows of exactly the pairs asked (each once, however often asked), in the
order asked for, and each pair looked up by the table's index — not every combination of the
accounts and members named, not every row of the accounts, not a scan of the table, whatever
the planner's statistics say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from plan_store import add_members, store_with_plan
from sqlalchemy import Engine, text

from seatwise.core.seat_timeline import MemberChange
from seatwise.engine.accounts import AccountSpec
from seatwise.engine.clock import FixedClock
from seatwise.store import bulk, repository
from seatwise.store.database import write_transaction
from seatwise.store.repository.ingest import _changes_query, _members_query

START = datetime(2026, 1, 1, tzinfo=UTC)
CLOCK = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
ACCOUNTS = [f"acc{n}" for n in range(10)]
MEMBERS_EACH = 500


@pytest.fixture
def engine(database_url: str) -> Engine:
    """Ten accounts of 500 members each (5,000 rows), statistics gathered."""
    specs = [
        AccountSpec(id=account_id, plan_id="p", subscribed_at=START) for account_id in ACCOUNTS
    ]
    engine = store_with_plan(database_url, CLOCK, specs)
    with write_transaction(engine) as connection:
        add_members(connection, [(a, f"m{n}") for a in ACCOUNTS for n in range(MEMBERS_EACH)])
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return engine


def test_the_rows_of_the_pairs_asked_each_once(engine: Engine) -> None:
    asked = [("acc1", "m7"), ("acc2", "m7"), ("acc1", "m7"), ("acc3", "nobody"), ("zz", "m1")]
    with engine.connect() as connection:
        found = bulk.rows_among(connection, _members_query, asked)
    assert sorted((row.account_id, row.member_id) for row in found) == [
        ("acc1", "m7"),
        ("acc2", "m7"),
    ]


def test_changes_come_in_time_order_then_recorded_order(engine: Engine) -> None:
    at = START + timedelta(days=3)
    changes = [
        ("acc1", 1, MemberChange(at + timedelta(hours=2), "m1", "activate")),
        ("acc2", 1, MemberChange(at, "m2", "activate")),
        ("acc1", 2, MemberChange(at, "m1", "invite")),
        ("acc1", 3, MemberChange(at + timedelta(hours=1), "m3", "activate")),
    ]
    with write_transaction(engine) as connection:
        repository.append_events_of_accounts(connection, changes, CLOCK.now())
    with engine.connect() as connection:
        found = bulk.rows_among(connection, _changes_query, [("acc1", "m1"), ("acc2", "m2")])
    assert [(row.account_id, row.seq, row.member_id, row.action) for row in found] == [
        ("acc2", 1, "m2", "activate"),
        ("acc1", 2, "m1", "invite"),
        ("acc1", 1, "m1", "activate"),
    ]
    assert [row.at for row in found] == [at, at, at + timedelta(hours=2)]


def _plan(engine: Engine, pairs: list[tuple[str, str]]) -> str:
    """The database's plan of the members' read of ``pairs``, as text."""
    with engine.connect() as connection:
        form = connection.dialect.name
        statement = _members_query(form).compile(dialect=connection.dialect)
        cursor: Any = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        if form == "postgresql":
            params: Any = {
                "firsts": [first for first, _ in pairs],
                "seconds": [second for _, second in pairs],
            }
            cursor.execute(f"EXPLAIN {statement}", params)
        else:
            params = [orjson.dumps(pairs).decode(), "$[0]", "$[1]"]
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_each_pair_is_looked_up_by_the_index_not_the_table_scanned(engine: Engine) -> None:
    """1,000 pairs over the ten accounts, which hold 5,000 members: a lookup a pair. (Before,
    PostgreSQL read ``account_id = ANY(…) AND member_id = ANY(…)``: every combination or
    every member of the accounts; with the pairs joined, the planner chose to scan the table
    into a hash.)"""
    pairs = [(ACCOUNTS[n % 10], f"new{n}") for n in range(1000)]
    plan = _plan(engine, pairs)
    if engine.dialect.name == "postgresql":
        assert "Function Scan on asked" in plan, plan
        assert "Nested Loop" in plan, plan
        assert "Index" in plan and "Seq Scan on members" not in plan, plan
        assert "Hash" not in plan, plan
    else:
        assert "SCAN asked" in plan, plan
        assert "SEARCH members USING" in plan and "(account_id=? AND member_id=?)" in plan, plan
