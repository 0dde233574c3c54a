"""One bad account never stops the billing of the others (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update

from seatwise.cli import example_files
from seatwise.engine.billing_run import bill, import_scenario
from seatwise.scenario import invoice_json, parse_scenario
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import accounts, plans

UNTIL = datetime(2026, 2, 15, tzinfo=UTC)
POISON = "acc050"


def vendor(url: str, ids: list[str]) -> Engine:
    """A vendor whose accounts are the five bundled customers, again and again."""
    migrate(url)
    engine = make_engine(url)
    examples = example_files()
    for account_id in ids:
        name, text = examples[int(account_id[3:]) % len(examples)]
        import_scenario(engine, parse_scenario(text, name), account_id, UNTIL, notify_history=True)
    return engine


def invoices_of(engine: Engine, account_id: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        stored = repository.load_account(connection, account_id)
        return [
            invoice_json(stored.plan.currency, e.number, e.status, e.invoice)
            for e in repository.issued_invoices(connection, account_id)
        ]


def test_a_poison_account_among_100_leaves_the_99_others_billed_as_without_it(
    database_url: str, tmp_path: Any
) -> None:
    everyone = [f"acc{n:03d}" for n in range(100)]
    engine = vendor(database_url, everyone)
    with engine.begin() as connection:  # a plan no release of Seatwise could have stored
        definition = connection.execute(
            select(plans.c.definition).where(plans.c.id == POISON)
        ).scalar_one()
        connection.execute(update(plans).where(plans.c.id == POISON).values(definition="{"))
    report = bill(engine, UNTIL)
    assert [(f.account_id, f.reason[:15]) for f in report.failed] == [(POISON, "JSONDecodeError")]
    assert report.accounts == 100

    others = [account_id for account_id in everyone if account_id != POISON]
    reference = vendor(f"sqlite:///{tmp_path / 'reference.db'}", others)
    assert bill(reference, UNTIL).failed == ()
    for account_id in others:  # the same invoices, numbers included: no gap where it failed
        assert invoices_of(engine, account_id) == invoices_of(reference, account_id), account_id
    with engine.connect() as connection:
        assert repository.issued_invoices(connection, POISON) == []
        (marked,) = repository.account_rows(connection, "billing_error")
    assert marked.id == POISON and marked.billing_error_at == UNTIL
    assert marked.billing_error is not None and "JSONDecodeError" in marked.billing_error

    # Fixed, it is billed by the next run, and the mark goes.
    with engine.begin() as connection:
        connection.execute(update(plans).where(plans.c.id == POISON).values(definition=definition))
    again = bill(engine, UNTIL)
    assert again.failed == () and again.invoices == len(invoices_of(engine, POISON)) > 0
    with engine.connect() as connection:
        assert repository.account_rows(connection, "billing_error") == []
        errors = connection.execute(select(accounts.c.billing_error)).scalars().all()
    assert set(errors) == {None}
