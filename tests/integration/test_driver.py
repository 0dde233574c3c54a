"""Statements run by the driver (``store/driver.py``), on SQLite and PostgreSQL: the rows are
those SQLAlchemy gives, each value converted by its column's type (an instant aware and in
UTC, a flag a bool), a list is one parameter, and a statement that would render a list per
run, or lacks a value, is refused rather than run."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from plan_store import store_with_plan
from sqlalchemy import Engine, Select, bindparam, exists, func, select, update

from seatwise.engine.accounts import AccountSpec, NewMember
from seatwise.engine.clock import FixedClock
from seatwise.store import driver
from seatwise.store.tables import accounts, credit_entries, timeline_events

CLOCK = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))


@pytest.fixture
def engine(database_url: str) -> Engine:
    specs = [
        AccountSpec(
            id=name,
            plan_id="p",
            subscribed_at=datetime(2026, 1, day, 9, 30, 0, 250, tzinfo=UTC),
            payment_method="succeeds",
            members=(NewMember("ana"),),
        )
        for name, day in (("acme", 1), ("beta", 2), ("gamma", 3))
    ]
    return store_with_plan(database_url, CLOCK, specs)


def _accounts_named(form: str) -> Select[Any]:
    ledger = exists().where(credit_entries.c.account_id == accounts.c.id)
    return (
        select(accounts.c.id, accounts.c.subscribed_at, ledger.label("ledger"))
        .where(driver.one_of(form, accounts.c.id, "ids"), accounts.c.status != "deleted")
        .order_by(accounts.c.id)
    )


def test_rows_are_converted_by_their_columns_types(engine: Engine) -> None:
    with engine.connect() as connection:
        statement = _accounts_named(connection.dialect.name)
        found = driver.rows_later(connection, statement, {"ids": ["gamma", "acme", "nobody"]})()
    assert [(row.id, row.subscribed_at, row.ledger) for row in found] == [
        ("acme", datetime(2026, 1, 1, 9, 30, 0, 250, tzinfo=UTC), False),
        ("gamma", datetime(2026, 1, 3, 9, 30, 0, 250, tzinfo=UTC), False),
    ]
    assert [type(row.ledger) for row in found] == [bool, bool]  # SQLite's 0, converted


def test_an_empty_list_finds_nothing_and_a_write_binds_its_own_values(engine: Engine) -> None:
    with engine.begin() as connection:
        form = connection.dialect.name
        assert driver.rows_later(connection, _accounts_named(form), {"ids": []})() == []
        clear = (
            update(accounts)
            .where(driver.one_of(form, accounts.c.id, "ids"))
            .values(next_due_at=None)  # a value of the statement's own, None
        )
        connection.execute(update(accounts).values(next_due_at=datetime(2026, 4, 1, tzinfo=UTC)))
        driver.execute(connection, clear, {"ids": ["beta"]})
        due = dict(connection.execute(select(accounts.c.id, accounts.c.next_due_at)).all())
    assert due == {
        "acme": datetime(2026, 4, 1, tzinfo=UTC),
        "beta": None,
        "gamma": datetime(2026, 4, 1, tzinfo=UTC),
    }


def test_a_list_rendered_per_run_or_a_missing_value_is_refused(engine: Engine) -> None:
    with engine.connect() as connection:
        per_run = select(timeline_events.c.seq).where(
            timeline_events.c.account_id.in_(bindparam("ids", expanding=True))
        )
        with pytest.raises(ValueError, match="expanding list"):
            driver.rows_later(connection, per_run, {"ids": ["acme"]})()
        one = select(accounts.c.id).where(accounts.c.id == bindparam("id"))
        with pytest.raises(ValueError, match="no value for id"):
            driver.rows_later(connection, one, {})()
        assert [row.id for row in driver.rows_later(connection, one, {"id": "beta"})()] == ["beta"]


def test_statements_sent_together_are_answered_each_with_its_own_rows(engine: Engine) -> None:
    """Inside ``together`` (one round trip on PostgreSQL) each statement's answer is its own,
    whichever is asked for first, and a failing statement fails the block, not silently."""
    with engine.begin() as connection:
        form = connection.dialect.name
        with driver.together(connection):
            some = driver.rows_later(connection, _accounts_named(form), {"ids": ["gamma", "acme"]})
            none = driver.rows_later(connection, _accounts_named(form), {"ids": ["nobody"]})
            one = driver.rows_later(connection, _accounts_named(form), {"ids": ["beta"]})
        assert [row.id for row in one()] == ["beta"]
        assert none() == []
        assert [row.id for row in some()] == ["acme", "gamma"]
    broken = select(func.no_such_function(accounts.c.id)).where(accounts.c.id == bindparam("id"))
    raw_errors = (sqlite3.Error, psycopg.Error)  # the driver's own: nothing wraps them
    with pytest.raises(raw_errors, match="no_such_function"), engine.begin() as connection:
        with driver.together(connection):
            failing = driver.rows_later(connection, broken, {"id": "acme"})
        failing()
