"""Ids the caller chooses (a plan's, an account's), on SQLite and PostgreSQL: creating the
same id from several threads at once stores it once and refuses the others with the words a
later creator gets (not a unique-key failure that tells the client to run it again), and an
import whose account id is already a plan's id stores the account anyway."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from seatwise.cli import example_files
from seatwise.core.seat_timeline import MemberChange
from seatwise.engine.accounts import AccountSpec, NewMember, create_account
from seatwise.engine.billing_run import bill
from seatwise.engine.clock import FixedClock
from seatwise.engine.importing import import_scenario
from seatwise.engine.plans import create_plan
from seatwise.scenario import parse_scenario
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import plans

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CLOCK = FixedClock(NOW)
PLAN = {"preset": "seats-monthly", "currency": "USD", "price": "10.00"}
THREADS = 8


@pytest.fixture
def engine(database_url: str) -> Engine:
    migrate(database_url)
    return make_engine(database_url)


def at_once(create: Callable[[], object]) -> list[str]:
    """``create`` run by THREADS threads released together; what each got ("ok" or the
    error's class and words)."""
    outcomes: list[str] = []
    start = threading.Barrier(THREADS)

    def one() -> None:
        start.wait()
        try:
            create()
            outcomes.append("ok")
        except Exception as error:
            outcomes.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=one) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_a_plan_created_by_eight_at_once_is_stored_once(engine: Engine) -> None:
    outcomes = at_once(lambda: create_plan(engine, PLAN, CLOCK, "team"))
    refused = (
        "PlanRefused: id: plan 'team' exists already; plans never change: a new version is "
        "a new plan, with a new id"
    )
    assert outcomes == [refused] * (THREADS - 1) + ["ok"]


def test_an_account_created_by_eight_at_once_is_stored_once(engine: Engine) -> None:
    create_plan(engine, PLAN, CLOCK, "team")
    spec = AccountSpec(
        id="acme",
        plan_id="team",
        subscribed_at=datetime(2026, 1, 1, tzinfo=UTC),
        members=(NewMember("ana"), NewMember("ben")),
    )
    outcomes = at_once(lambda: create_account(engine, spec, CLOCK))
    assert outcomes == ["AccountRefused: id: account 'acme' exists already"] * (THREADS - 1) + [
        "ok"
    ]
    with engine.connect() as connection:
        stored = repository.load_account(connection, "acme")
    members = [event for event in stored.events if isinstance(event, MemberChange)]
    assert [(change.member, change.action) for change in members] == [
        ("ana", "activate"),
        ("ben", "activate"),
    ]


def test_an_import_by_eight_at_once_is_stored_once(engine: Engine) -> None:
    scenario = parse_scenario(*_seats_monthly())
    outcomes = at_once(lambda: import_scenario(engine, scenario, "hooli", NOW))
    refused = "ImportRefused: account 'hooli' exists already; choose another id"
    assert outcomes == [refused] * (THREADS - 1) + ["ok"]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(plans)) == 1


def _seats_monthly() -> tuple[str, str]:
    """The shipped example's text and name ($12.00 a seat a month)."""
    (text,) = [text for name, text in example_files() if name == "3_seats_monthly.yaml"]
    return text, "3_seats_monthly.yaml"


def test_an_import_over_a_different_plan_of_the_same_id_stores_its_own(engine: Engine) -> None:
    """A plan 'hooli' created over the API, at another price: the import keeps it as it is
    and bills the account under the scenario's own plan, stored under a new id."""
    create_plan(engine, {**PLAN, "price": "99.00"}, CLOCK, "hooli")
    imported = import_scenario(engine, parse_scenario(*_seats_monthly()), "hooli", NOW)
    assert imported.plan_id.startswith("plan_") and len(imported.plan_id) == len("plan_") + 12
    with engine.connect() as connection:
        kept = repository.find_plan(connection, "hooli")
        own = repository.find_plan(connection, imported.plan_id)
        account = repository.load_account(connection, "hooli")
    assert kept is not None and kept.definition == {**PLAN, "price": "99.00"}
    assert own is not None and own.definition["price"] == "12.00"
    assert account.plan_id == imported.plan_id
    bill(engine, NOW)
    with engine.connect() as connection:
        first = repository.issued_invoices(connection, "hooli")[0]
    assert first.invoice.lines[0].unit_price == 1200  # the scenario's $12.00 a seat, not $99.00


def test_an_import_over_the_same_plan_of_the_same_id_uses_it(engine: Engine) -> None:
    text, name = _seats_monthly()
    scenario = parse_scenario(text, name)
    create_plan(engine, dict(scenario.plan_data), CLOCK, "hooli")
    imported = import_scenario(engine, scenario, "hooli", NOW)
    assert imported.plan_id == "hooli"
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(plans)) == 1
