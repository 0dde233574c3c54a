"""One bad account never stops the billing of the others (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, update
from test_workers import RecordingGateway

from seatwise.cli import example_files
from seatwise.engine import billing_run
from seatwise.engine.billing_run import bill
from seatwise.engine.importing import import_scenario
from seatwise.scenario import parse_scenario
from seatwise.scenario_result import invoice_json
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


def test_workers_report_a_poison_account_without_a_traceback(
    database_url: str, tmp_path: Any
) -> None:
    """`seatwise bill --workers 2` (PostgreSQL) over 60 accounts, one of them poisoned: the
    59 others are billed, the run says which account failed and exits 1, and the worker's
    traceback goes to the error log, not to the terminal."""
    if not database_url.startswith("postgresql"):
        pytest.skip("--workers needs PostgreSQL (SQLite's refusal: test_exactly_once)")
    everyone = [f"acc{n:03d}" for n in range(60)]
    engine = vendor(database_url, everyone)
    with engine.begin() as connection:
        connection.execute(update(plans).where(plans.c.id == POISON).values(definition="{"))
    log = tmp_path / "errors.log"
    run = subprocess.run(
        [sys.executable, "-m", "seatwise.cli", "bill", "--until", UNTIL.isoformat(),
         "--workers", "2", "--database-url", database_url],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "SEATWISE_ERROR_LOG": str(log)},
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "billed 60 account(s)" in run.stdout
    assert f"error: account {POISON} not billed: JSONDecodeError" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert "Traceback" in log.read_text(encoding="utf-8")
    assert f"account {POISON} could not be billed" in log.read_text(encoding="utf-8")
    with engine.connect() as connection:
        billed = [a for a in everyone if repository.issued_invoices(connection, a)]
    assert len(billed) == 59 and POISON not in billed


def test_an_account_failing_after_others_charged_rolls_back_and_they_are_billed_once(
    database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """acc003 fails in the middle of its transaction, after acc000–acc002 were charged: the
    transaction is rolled back, acc003 is billed alone (and fails, marked), the five others
    together again — their charges sent again with the same idempotency keys, so a gateway
    that honours them charges once — and they end as a store without acc003 ends."""
    everyone = [f"acc{n:03d}" for n in range(6)]
    engine = vendor(database_url, everyone)
    real = billing_run.prepare_account

    def failing(connection: Any, account_id: str, *args: Any, **kwargs: Any) -> None:
        if account_id == "acc003":
            raise RuntimeError("boom")
        real(connection, account_id, *args, **kwargs)

    monkeypatch.setattr(billing_run, "prepare_account", failing)
    gateway = RecordingGateway()
    report = bill(engine, UNTIL, gateway=gateway)
    assert [(f.account_id, f.reason) for f in report.failed] == [("acc003", "RuntimeError: boom")]
    assert report.accounts == 6

    others = [account_id for account_id in everyone if account_id != "acc003"]
    reference = vendor(f"sqlite:///{tmp_path / 'reference.db'}", others)
    alone = RecordingGateway()
    bill(reference, UNTIL, gateway=alone)
    for account_id in others:  # the same invoices, numbers included: no gap where it failed
        assert invoices_of(engine, account_id) == invoices_of(reference, account_id), account_id
    keys = [r.idempotency_key for r in alone.requests]
    assert keys and len(set(keys)) == len(keys)
    sent = [r.idempotency_key for r in gateway.requests]
    # acc000–acc002's charges twice (before the rollback and after), under the same keys
    repeated = [key for key in keys if key.split("/")[0] in ("acc000", "acc001", "acc002")]
    assert repeated and sorted(sent) == sorted(keys + repeated)
    with engine.connect() as connection:
        (marked,) = repository.account_rows(connection, "billing_error")
        assert marked.id == "acc003" and repository.issued_invoices(connection, "acc003") == []


def test_a_billing_run_takes_no_savepoint_per_account(database_url: str) -> None:
    """Six accounts billed in one transaction: one savepoint (reading them together, so a
    bad one can be read alone), not one more per account."""
    engine = vendor(database_url, [f"acc{n:03d}" for n in range(6)])
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(*args: Any) -> None:
        statements.append(str(args[2]).split()[0].upper())

    assert bill(engine, UNTIL).accounts == 6
    assert statements.count("SAVEPOINT") == 1
