"""A migrated store with plan ``p`` and some accounts on it, for the store's own tests."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine

from seatwise.engine.accounts import AccountSpec, create_account
from seatwise.engine.clock import Clock
from seatwise.engine.plans import create_plan
from seatwise.store import bulk
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import members

PLAN = {"preset": "seats-monthly", "currency": "USD", "price": "10.00"}


def store_with_plan(
    database_url: str, clock: Clock, accounts: Iterable[AccountSpec] = ()
) -> Engine:
    """The store at ``database_url``, migrated, with plan ``p`` (``seats-monthly``, $10.00 a
    seat) and ``accounts`` (on any plan it has)."""
    migrate(database_url)
    engine = make_engine(database_url)
    create_plan(engine, PLAN, clock, "p")
    for spec in accounts:
        create_account(engine, spec, clock)
    return engine


def add_members(connection: Connection, pairs: Iterable[tuple[str, str]]) -> None:
    """Members (account, member id) stored in one write, without billing rights or email."""
    bulk.insert_rows(
        connection,
        members,
        ("account_id", "member_id", "manage_billing", "email"),
        [(account_id, member, False, None) for account_id, member in pairs],
    )
