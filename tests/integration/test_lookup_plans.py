"""The lookups that recording a group of events runs (the accounts, their lock, the members
named, these members' changes, the vendor ids seen) are planned once on PostgreSQL, for any
values, and by their indexes — even when planned while the tables were empty and run after
they grew (this machine's PostgreSQL runs without autovacuum: no statistics tell the planner
of the growth). Planning them again for each run's values cost more than running them; a plan
made for an empty table and kept would scan the table whole at every run. The settings that
make them so are the transaction's for those lookups only; a batch's lookups (more values)
are planned for their values at each run, as before."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from plan_store import add_members, store_with_plan
from sqlalchemy import Connection, Engine, text
from sqlalchemy.sql import ClauseElement

from seatwise.engine.accounts import AccountSpec
from seatwise.engine.clock import FixedClock
from seatwise.engine.ingest import EventRequest, record_events
from seatwise.store import bulk
from seatwise.store.access_repository import _event_results_query
from seatwise.store.database import write_transaction
from seatwise.store.driver import FEW_LOOKED_UP, _compiled, lookups_planned, together
from seatwise.store.repository.accounts import _lock_query
from seatwise.store.repository.ingest import _accounts_query, _changes_query, _members_query
from seatwise.store.tables import event_ids, timeline_events

START = datetime(2026, 1, 1, tzinfo=UTC)
CLOCK = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
ACCOUNTS = [f"acc{n}" for n in range(10)]
GROWN = 3_000  # rows each account gains in each table after the lookups were planned


@pytest.fixture
def engine(database_url: str) -> Engine:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL plans prepared statements; SQLite plans each by its indexes")
    specs = [
        AccountSpec(id=account_id, plan_id="p", subscribed_at=START) for account_id in ACCOUNTS
    ]
    return store_with_plan(database_url, CLOCK, specs)


def _record_groups(engine: Engine, groups: int, first: int) -> None:
    for group in range(first, first + groups):
        requests = [
            EventRequest(
                account_id, "activate", f"g{group}-{account_id}", id=f"e{group}-{account_id}"
            )
            for account_id in ACCOUNTS[:3]
        ]
        results = record_events(engine, requests, CLOCK)
        assert all(result.seq is not None for result in results), results  # recorded


def _grow(engine: Engine) -> None:
    """Each account gains GROWN members, changes and event ids; no statistics gathered."""
    at = START + timedelta(days=1)
    with write_transaction(engine) as connection:
        add_members(connection, [(a, f"x{n}") for a in ACCOUNTS for n in range(GROWN)])
        bulk.insert_rows(
            connection,
            timeline_events,
            ("account_id", "seq", "recorded_at", "at", "action", "member_id"),
            [(a, 100 + n, at, at, "activate", f"x{n}") for a in ACCOUNTS for n in range(GROWN)],
        )
        bulk.insert_rows(
            connection,
            event_ids,
            ("account_id", "external_id", "result", "created_at"),
            [(a, f"x{n}", "{}", at) for a in ACCOUNTS for n in range(GROWN)],
        )


LOOKUPS: dict[str, ClauseElement] = {
    "the accounts' lock": _lock_query("postgresql"),
    "the accounts": _accounts_query("postgresql"),
    "the members named": _members_query("postgresql"),
    "their changes": _changes_query("postgresql"),
    "the vendor ids seen": _event_results_query("postgresql"),
}


def _as_sent(statement: ClauseElement, connection: Connection) -> str:
    """The statement's text as the driver sends it (``%(name)s`` → ``$1``, in order)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"%\((\w+)\)s", number, _compiled(statement, connection.dialect).text)


def _arguments(types: list[str]) -> str:
    """Values of the parameter types a prepared statement takes, for EXPLAIN EXECUTE."""
    return ", ".join("'{acc1}'" if kind.endswith("[]") else "'draft'" for kind in types)


def test_the_lookups_planned_on_empty_tables_still_use_the_indexes_once_they_grew(
    engine: Engine,
) -> None:
    _record_groups(engine, 8, first=0)  # prepared and planned while the tables are empty
    _grow(engine)
    _record_groups(engine, 2, first=8)
    with engine.connect() as connection:  # the pool's one connection: the lookups' own
        prepared = connection.execute(
            text(
                "SELECT name, statement, parameter_types::text[], generic_plans, custom_plans "
                "FROM pg_prepared_statements"
            )
        ).all()
        by_text = {row.statement: row for row in prepared}
        for name, statement in LOOKUPS.items():
            row = by_text.get(_as_sent(statement, connection))
            assert row is not None, f"the lookup of {name} was not prepared"
            assert row.generic_plans >= 5, name
            assert row.custom_plans == 0, name
            connection.execute(text("SET plan_cache_mode = force_generic_plan"))
            plan = connection.execute(
                text(f"EXPLAIN EXECUTE {row.name}({_arguments(row.parameter_types)})")
            ).scalars()
            lines = "\n".join(plan)
            for big in ("members", "timeline_events", "event_ids", "accounts"):
                assert f"Seq Scan on {big}" not in lines, (name, lines)
            connection.execute(text("RESET plan_cache_mode"))


def _settings(connection: Connection) -> tuple[str, str]:
    row = connection.execute(
        text("SELECT current_setting('plan_cache_mode'), current_setting('enable_seqscan')")
    ).one()
    return row[0], row[1]


@pytest.mark.parametrize("pipelined", [False, True])
def test_a_few_values_lookups_settings_are_the_transactions_for_them_only(
    engine: Engine, pipelined: bool
) -> None:
    with write_transaction(engine) as connection:
        connection.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        if pipelined:
            with together(connection), lookups_planned(connection, FEW_LOOKED_UP):
                pass
        else:
            with lookups_planned(connection, FEW_LOOKED_UP):
                assert _settings(connection) == ("force_generic_plan", "off")
                with lookups_planned(connection, 1):  # inside another: nothing more
                    assert _settings(connection) == ("force_generic_plan", "off")
                assert _settings(connection) == ("force_generic_plan", "off")
        assert _settings(connection) == ("force_custom_plan", "on")
    with engine.connect() as connection:
        assert _settings(connection) == ("auto", "on")


def test_more_values_lookups_are_planned_for_their_values_each_time(engine: Engine) -> None:
    with write_transaction(engine) as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        threshold = driver.prepare_threshold
        with lookups_planned(connection, FEW_LOOKED_UP + 1):
            assert driver.prepare_threshold is None  # not prepared: planned at each run
            with lookups_planned(connection, 1):  # inside a batch's block: as it decided
                assert driver.prepare_threshold is None
                assert _settings(connection) == ("auto", "on")
        assert driver.prepare_threshold == threshold
        assert _settings(connection) == ("auto", "on")
