"""Stories told through HTTP only end where `seatwise simulate` ends: the same invoices
(numbers, statuses, lines, totals), wallet, account status and notifications — on SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import drive, vendor
from sqlalchemy import Engine

from seatwise.core.notifications import order_key
from seatwise.engine.simulation import notification, simulate
from seatwise.scenario import load_scenario
from seatwise.scenario_result import document
from seatwise.store import outbox_repository as outbox_store
from seatwise.store.database import make_engine, migrate

SCENARIOS = Path(__file__).parents[1] / "scenarios"
STORIES = [
    "spec9_contract_two_interims",  # SPEC 9: a contract, two interims, a cancellation
    "credits_spec7_licences_annual_checkout",  # credits bought at checkout, assigned, started
    "credits_checkout_declined_then_retried",
    "send_invoice_paid_by_hand",
    "payment_method_update_retries_at_once",
    "cancel_taken_back",
]
INVOICE_FIELDS = (
    "number",
    "kind",
    "status",
    "issued_at",
    "due_at",
    "period_start",
    "period_end",
    "total",
)
LINE_FIELDS = (
    "kind",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "period_start",
    "period_end",
)


@pytest.fixture
def engine(database_url: str) -> Engine:
    migrate(database_url)
    return make_engine(database_url)


@pytest.mark.parametrize("name", STORIES)
def test_a_story_through_http_ends_as_the_simulation_does(engine: Engine, name: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    simulated = simulate(scenario)
    expected = document(simulated)
    v = vendor(engine, scenario.account.subscribed_at)
    drive(v, scenario)

    got = v.all("/v1/invoices?account=acme")
    assert [{f: i[f] for f in INVOICE_FIELDS} for i in got] == [
        {f: i[f] for f in INVOICE_FIELDS} for i in expected["invoices"]
    ]
    assert [[{f: line[f] for f in LINE_FIELDS} for line in i["lines"]] for i in got] == [
        i["lines"] for i in expected["invoices"]
    ]
    wallet = v.call("GET", "/v1/accounts/acme/credits")
    assert {"balance": wallet["balance"], "assigned": wallet["assigned"]} == expected["account"][
        "credits"
    ]
    account = v.call("GET", "/v1/accounts/acme")
    assert account["status"] == expected["account"]["status"]
    with engine.connect() as connection:
        told = sorted(
            (notification(row.message) for row in outbox_store.outbox_of(connection)), key=order_key
        )
    assert told == list(simulated.notifications)
