"""The billing run over the store gives what the simulation gives, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from seatwise.cli import example_files
from seatwise.core.credits import totals
from seatwise.core.periods import add_months
from seatwise.core.seat_timeline import MemberChange
from seatwise.engine.billing_run import bill, bill_account
from seatwise.engine.importing import import_scenario
from seatwise.scenario import load_scenario, parse_scenario
from seatwise.scenario_result import document, invoice_json, run_scenario
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import accounts

SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("*.yaml"))
# Payments by hand (`pay`) name a simulation's invoice numbers, which an import cannot keep
# (numbers run across a vendor's accounts): those stories are told by the engine's simulation.
IMPORTABLE = [path for path in SCENARIOS if not load_scenario(path).payments]
RECORDED = datetime(2020, 1, 1, tzinfo=UTC)


def stored_invoices(engine: Engine, account_id: str, currency: Any) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [
            invoice_json(currency, entry.number, entry.status, entry.invoice)
            for entry in repository.issued_invoices(connection, account_id)
        ]


@pytest.fixture
def engine(database_url: str) -> Engine:
    migrate(database_url)
    return make_engine(database_url)


def test_every_scenario_bills_the_same_through_the_store(engine: Engine) -> None:
    """All scenario files as accounts of one vendor: numbers run across accounts, so each
    account's invoices are compared without their numbers, then the numbering is checked."""
    expected: dict[str, dict[str, Any]] = {}
    for path in IMPORTABLE:
        scenario = load_scenario(path)
        import_scenario(engine, scenario, path.stem, scenario.until, notify_history=True)
        expected[path.stem] = document(run_scenario(scenario))
    # Each account is billed up to its own `until`: account by account, in file order.
    for path in IMPORTABLE:
        with engine.begin() as connection:
            bill_account(connection, path.stem, load_scenario(path).until)
    numbers: list[str] = []
    for path in IMPORTABLE:
        doc = expected[path.stem]
        cur = load_scenario(path).plan.currency
        got = stored_invoices(engine, path.stem, cur)
        numbers.extend(invoice.pop("number") for invoice in got)
        want = [{k: v for k, v in invoice.items() if k != "number"} for invoice in doc["invoices"]]
        assert got == want, path.stem
        with engine.connect() as connection:
            row = connection.execute(
                select(accounts.c.status, accounts.c.credit_balance).where(
                    accounts.c.id == path.stem
                )
            ).one()
        assert row.status == doc["account"]["status"], path.stem
        assert cur.format(row.credit_balance) == doc["account"]["credit_balance"], path.stem
        with engine.connect() as connection:
            balance, assigned = totals(repository.ledger(connection, path.stem))
        assert {"balance": balance, "assigned": assigned} == doc["account"]["credits"], path.stem
    assert numbers == [f"INV-{n:06d}" for n in range(1, len(numbers) + 1)]  # no gap


def test_a_second_run_issues_nothing(engine: Engine) -> None:
    scenario = load_scenario(SCENARIOS[0])
    import_scenario(engine, scenario, "acme", scenario.until, notify_history=True)
    first = bill(engine, scenario.until)
    again = bill(engine, scenario.until)  # nothing is due for it: left alone
    assert first.invoices > 0
    assert (again.accounts, again.not_due, again.invoices, again.lines) == (0, 1, 0, 0)
    every = bill(engine, scenario.until, everything=True)  # recomputed all the same
    assert (every.accounts, every.invoices, every.lines) == (1, 0, 0)


@pytest.mark.parametrize(
    "name",
    [
        "spec21_licences_high_water_mark",
        "decrease_credit_larger_than_renewal",
        "spec9_contract_two_interims",
        "active_users_invited_and_minimum",
    ],
)
def test_billing_month_by_month_equals_billing_at_once(engine: Engine, name: str) -> None:
    path = next(p for p in SCENARIOS if p.stem == name)
    scenario = load_scenario(path)
    import_scenario(engine, scenario, name, scenario.until, notify_history=True)
    instant = scenario.account.subscribed_at
    months = 0
    while instant < scenario.until:
        bill(engine, instant)
        months += 1
        instant = add_months(scenario.account.subscribed_at, months, scenario.account.timezone)
    bill(engine, scenario.until)
    expected = document(run_scenario(scenario))
    assert stored_invoices(engine, name, scenario.plan.currency) == expected["invoices"]


def test_a_late_event_is_settled_by_an_adjustment_never_a_rewrite(engine: Engine) -> None:
    path = next(p for p in SCENARIOS if p.stem == "spec22_active_users_two_cycles")
    scenario = load_scenario(path)
    import_scenario(engine, scenario, "initech", scenario.until, notify_history=True)
    bill(engine, datetime(2024, 3, 8, 10, tzinfo=UTC))  # cycles ending 8 Feb and 8 Mar
    before = stored_invoices(engine, "initech", scenario.plan.currency)
    assert [invoice["total"] for invoice in before] == ["24.00", "32.00"]
    # Reported on 20 Mar: "late" had been active from 20 Jan to 25 Jan (first cycle).
    late = [
        MemberChange(datetime(2024, 1, 20, tzinfo=UTC), "late", "activate"),
        MemberChange(datetime(2024, 1, 25, tzinfo=UTC), "late", "delete"),
    ]
    with engine.begin() as connection:
        seq = repository.next_event_seq(connection, "initech")
        repository.append_events(connection, "initech", late, RECORDED, seq)
    bill(engine, datetime(2024, 4, 8, 10, tzinfo=UTC))
    after = stored_invoices(engine, "initech", scenario.plan.currency)
    assert after[:2] == before  # issued invoices are never rewritten
    third = after[2]
    assert [(line["kind"], line["amount"]) for line in third["lines"]] == [
        ("seats", "32.00"),
        ("adjustment", "8.00"),
    ]
    assert third["lines"][1]["description"] == "Adjustment to INV-000001 (arrears, late events)"
    assert third["total"] == "40.00"
    assert bill(engine, datetime(2024, 4, 8, 10, tzinfo=UTC)).invoices == 0


def test_a_year_of_the_bundled_examples_bills_like_the_simulation(engine: Engine) -> None:
    """The five example customers as one vendor's accounts, billed on the 1st and 15th of every
    month of 2025 and up to 15 Feb 2026; each ends with exactly what the core computes."""
    end = datetime(2026, 2, 15, tzinfo=UTC)
    scenarios = {}
    for name, text in example_files():
        scenario = replace(parse_scenario(text, name), until=end)
        scenarios[name] = scenario
        import_scenario(engine, scenario, name, scenario.until, notify_history=True)
    runs = [datetime(2025, month, day, tzinfo=UTC) for month in range(1, 13) for day in (1, 15)]
    for instant in [*runs, datetime(2026, 1, 1, tzinfo=UTC), end]:
        bill(engine, instant)
    total = 0
    for name, scenario in scenarios.items():
        expected = document(run_scenario(scenario))["invoices"]
        got = stored_invoices(engine, name, scenario.plan.currency)
        total += len(got)
        strip = [{k: v for k, v in invoice.items() if k != "number"} for invoice in expected]
        assert [{k: v for k, v in i.items() if k != "number"} for i in got] == strip, name
    assert total >= 40
