"""Exactly once (SPEC 11): a `seatwise bill` killed mid-run and run again, and two `seatwise
bill` processes at once, issue each invoice exactly once with no gap in the numbering."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from seatwise.core.account import Terminate
from seatwise.core.credits import CreditsPaid
from seatwise.core.payments import bill_and_collect
from seatwise.engine.importing import import_scenario
from seatwise.scenario import load_scenario
from seatwise.scenario_result import invoice_json
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import invoices

SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("*.yaml"))
UNTIL = "2026-06-01T00:00:00Z"  # after every scenario, before now
COPIES = 3  # each scenario file imported this many times: about a hundred accounts


def bill_process(database_url: str, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "seatwise.cli",
            "bill",
            "--until",
            UTC_UNTIL_TEXT,
            "--database-url",
            database_url,
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


UTC_UNTIL_TEXT = UNTIL


@pytest.fixture
def loaded(database_url: str) -> Engine:
    migrate(database_url)
    engine = make_engine(database_url)
    for copy in range(COPIES):
        for path in SCENARIOS:
            scenario = load_scenario(path)
            import_scenario(
                engine, scenario, f"{path.stem}-{copy}", scenario.until, notify_history=True
            )
    return engine


def invoice_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(invoices)).scalar_one())


def assert_billed_exactly_once(engine: Engine) -> None:
    """Every account holds exactly the invoices the pure core proposes, and the numbers run
    from INV-000001 without a gap or a repeat."""
    until = datetime.fromisoformat(UNTIL)
    numbers: list[str] = []
    with engine.connect() as connection:
        for account_id in repository.account_ids(connection):
            stored = repository.load_account(connection, account_id)
            cur = stored.plan.currency
            recorded = [e for e in stored.events if not isinstance(e, CreditsPaid | Terminate)]
            methods = payments.methods(connection, account_id)
            expected = bill_and_collect(stored.plan, stored.account, recorded, methods, until)
            got: list[dict[str, Any]] = []
            for entry in repository.issued_invoices(connection, account_id):
                numbers.append(entry.number)
                got.append(invoice_json(cur, "-", entry.status, entry.invoice))
            want = [
                invoice_json(cur, "-", status, inv)
                for inv, status in zip(expected.billing.invoices, expected.statuses, strict=True)
            ]
            assert got == want, account_id
    assert sorted(numbers) == [f"INV-{n:06d}" for n in range(1, len(numbers) + 1)]
    assert_no_provisional_number(engine)


def assert_no_provisional_number(engine: Engine) -> None:
    """A run's provisional numbers (engine.batch) were all replaced before they were stored."""
    texts = {
        "invoices": ["number"],
        "invoice_lines": ["description", "explanation", "corrects"],
        "payment_attempts": ["invoice_number"],
        "reminders": ["invoice_number"],
        "outbox": ["invoice_number", "payload"],
    }
    with engine.connect() as connection:
        for table, columns in texts.items():
            for column in columns:
                marked = connection.execute(  # in JSON the mark is written \u001e
                    text(
                        f"SELECT count(*) FROM {table} WHERE {column} LIKE :a OR {column} LIKE :b"
                    ),
                    {"a": "%\x1e%", "b": "%\\u001e%"},
                ).scalar_one()
                assert marked == 0, (table, column)


def assert_run_again_bills_the_rest(engine: Engine, database_url: str, at_least: int) -> None:
    """After a killed run: it had issued ``at_least`` invoices and left some; a run again
    issues the rest, and everything exactly once."""
    partial = invoice_count(engine)
    assert partial >= at_least
    again = bill_process(database_url)
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert invoice_count(engine) > partial
    assert_billed_exactly_once(engine)


def test_a_run_killed_midway_then_run_again_bills_exactly_once(
    loaded: Engine, database_url: str
) -> None:
    process = bill_process(database_url)
    deadline = time.monotonic() + 60
    while invoice_count(loaded) < 150 and time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert_run_again_bills_the_rest(loaded, database_url, at_least=150)


def test_two_workers_at_once_bill_exactly_once(loaded: Engine, database_url: str) -> None:
    workers = [bill_process(database_url), bill_process(database_url)]
    results = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err
    issued = [int(out.split(": ")[1].split(" invoice")[0]) for out, _err in results]
    assert sum(issued) == invoice_count(loaded)  # what one issued, the other did not
    assert_billed_exactly_once(loaded)


def test_four_workers_bill_exactly_once(loaded: Engine, database_url: str) -> None:
    """`seatwise bill --workers 4` on PostgreSQL: four processes claim different accounts; on
    SQLite (one writer) the option is refused and nothing is billed."""
    run = bill_process(database_url, "--workers", "4")
    out, err = run.communicate(timeout=300)
    if loaded.dialect.name == "sqlite":
        assert run.returncode == 2
        assert "--workers 4 needs PostgreSQL" in err
        assert invoice_count(loaded) == 0
        return
    assert run.returncode == 0, err
    assert f"{invoice_count(loaded)} invoice(s)" in out
    assert_billed_exactly_once(loaded)


SLOW_GATEWAY = """
import time
from seatwise.core.gateway import TestGateway

class Slow(TestGateway):
    def charge(self, request):
        time.sleep(0.01)  # a payment provider's round trip: the run lasts long enough to kill
        return super().charge(request)

def make():
    return Slow()
"""


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_workers_killed_midway_then_run_again_bill_exactly_once(
    loaded: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`seatwise bill --workers 4` over about 400 accounts killed with SIGKILL mid-run: its
    workers stop after the transaction they are in, leaving accounts unbilled; a run again
    bills exactly what is missing."""
    if loaded.dialect.name == "sqlite":
        pytest.skip("--workers needs PostgreSQL (refused on SQLite: the test above)")
    third = load_scenario(SCENARIOS[0].parent / "payment_succeeds_on_third_attempt.yaml")
    for copy in range(300):  # transactions of 50 accounts: more than the workers take at once
        import_scenario(loaded, third, f"zz-third-{copy:03d}", third.until, notify_history=True)
    (tmp_path / "slow_gateway.py").write_text(SLOW_GATEWAY, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("SEATWISE_GATEWAY", "slow_gateway:make")
    process = bill_process(database_url, "--workers", "4")
    deadline = time.monotonic() + 60
    while invoice_count(loaded) < 100 and time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    workers = children_of(process.pid)
    assert len(workers) >= 4
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 60
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers), "workers outlived their parent"
    monkeypatch.delenv("SEATWISE_GATEWAY")  # the run again need not be slow: the same outcomes
    assert_run_again_bills_the_rest(loaded, database_url, at_least=100)
