"""Workers that share (issue 14): a billing transaction claims accounts no other one holds,
and holds the invoice number sequence only while it writes, so runs at once each bill
different accounts; numbers stay sequential without gaps, and no provisional number reaches
the store or the gateway's number field."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from seatwise.core.gateway import ChargeOutcome, ChargeRequest, TestGateway
from seatwise.engine.batch import Batch, renumbered
from seatwise.engine.billing_report import BillingRefused, BillingReport
from seatwise.engine.billing_run import bill
from seatwise.engine.billing_workers import bill_with_workers
from seatwise.engine.importing import import_scenario
from seatwise.scenario import load_scenario
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate, write_transaction

SCENARIOS = Path(__file__).parents[1] / "scenarios"
THIRD_ATTEMPT = SCENARIOS / "payment_succeeds_on_third_attempt.yaml"  # declines_first_2


@pytest.fixture
def engine(database_url: str) -> Engine:
    migrate(database_url)
    return make_engine(database_url)


def import_copies(engine: Engine, path: Path, count: int) -> list[str]:
    """``count`` accounts of the scenario, told of everything (history included)."""
    scenario = load_scenario(path)
    ids = [f"{path.stem}-{index:03d}" for index in range(count)]
    for account_id in ids:
        import_scenario(engine, scenario, account_id, scenario.until, notify_history=True)
    return ids


def test_transactions_at_once_claim_different_accounts(engine: Engine) -> None:
    """Two transactions claim 50 accounts each out of 120: the second skips the first's
    (PostgreSQL's SKIP LOCKED) instead of waiting for them; SQLite's one writer takes them
    in turn."""
    import_copies(engine, THIRD_ATTEMPT, 120)
    until = datetime(2024, 3, 1, tzinfo=UTC)
    with write_transaction(engine) as first:
        taken = repository.claim_accounts(first, "", 50, until).ids
        assert taken[0] == "payment_succeeds_on_third_attempt-000"
        assert len(taken) == 50
        if engine.dialect.name == "postgresql":
            other = make_engine(str(engine.url.render_as_string(hide_password=False)))
            with other.connect() as second, second.begin():
                second.execute(text("SET LOCAL lock_timeout = '2s'"))
                also = repository.claim_accounts(second, "", 50, until).ids
            other.dispose()
            assert also == [f"payment_succeeds_on_third_attempt-{i:03d}" for i in range(50, 100)]
    with engine.connect() as connection:  # committed, nothing billed: all still due
        assert len(repository.claim_accounts(connection, "", 200, until).ids) == 120
        later = repository.claim_accounts(connection, taken[-1], 200, until)
        assert later.ids[0].endswith("-050") and later.reached == later.ids[-1]


class RecordingGateway(TestGateway):
    """The test gateway, remembering what it was asked."""

    def __init__(self) -> None:
        self.requests: list[ChargeRequest] = []

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        self.requests.append(request)
        return super().charge(request)


def test_the_gateway_is_told_a_number_once_the_invoice_has_one(engine: Engine) -> None:
    """Billed up to 9 Feb, INV-000001 (issued 8 Feb) is charged and declined in the run that
    issues it: the gateway gets no number ("") and the invoice's key; billed up to 11 Feb, its
    retry of 10 Feb names INV-000001. The stored attempt and the messages carry the number."""
    import_copies(engine, THIRD_ATTEMPT, 1)
    gateway = RecordingGateway()
    bill(engine, datetime(2024, 2, 9, tzinfo=UTC), gateway=gateway)
    bill(engine, datetime(2024, 2, 11, tzinfo=UTC), gateway=gateway)
    key = "payment_succeeds_on_third_attempt-000/arrears/2024-01-07T10:00:00Z/2024-02-08T10:00:00Z"
    assert [(r.invoice, r.attempt, r.idempotency_key) for r in gateway.requests] == [
        ("", 1, f"{key}/1"),
        ("INV-000001", 2, f"{key}/2"),
    ]
    with engine.connect() as connection:
        attempts = connection.execute(
            text("SELECT invoice_number, attempt FROM payment_attempts ORDER BY attempt")
        ).all()
        told = (
            connection.execute(text("SELECT DISTINCT invoice_number FROM outbox")).scalars().all()
        )
    assert [tuple(row) for row in attempts] == [("INV-000001", 1), ("INV-000001", 2)]
    assert told == ["INV-000001"]


def test_the_number_sequence_is_free_while_a_run_bills(engine: Engine, database_url: str) -> None:
    """While a run bills (inside its charge of the first account, with 30 more to bill in the
    same transaction), another transaction updates the invoice sequence's row within a
    lock timeout of 2 s: the run does not hold it. The run's numbers follow on without a
    gap."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: a second transaction waits for the run by design")
    import_copies(engine, THIRD_ATTEMPT, 31)
    other = create_engine(database_url)
    touched: list[int] = []

    class Probing(TestGateway):
        def charge(self, request: ChargeRequest) -> ChargeOutcome:
            if not touched:
                with other.connect() as connection, connection.begin():
                    connection.execute(text("SET LOCAL lock_timeout = '2s'"))
                    touched.append(
                        connection.execute(
                            text(
                                "UPDATE invoice_sequences SET next_number = next_number "
                                "WHERE prefix = 'INV-' RETURNING next_number"
                            )
                        ).scalar_one()
                    )
            return super().charge(request)

    report = bill(engine, datetime(2024, 3, 1, tzinfo=UTC), gateway=Probing())
    other.dispose()
    assert touched == [1]  # nothing numbered yet while the run charged
    assert report.invoices == 31
    with engine.connect() as connection:
        numbers = connection.execute(text("SELECT number FROM invoices ORDER BY number")).scalars()
        assert list(numbers) == [f"INV-{n:06d}" for n in range(1, 32)]


def test_workers_need_postgresql_and_a_count_in_range(engine: Engine) -> None:
    until = datetime(2024, 3, 1, tzinfo=UTC)
    with pytest.raises(BillingRefused, match="between 1 and 32"):
        bill_with_workers(engine, until, 0)
    with pytest.raises(BillingRefused, match="--all and --drafts take every account"):
        bill_with_workers(engine, until, 2, everything=True)
    if engine.dialect.name == "sqlite":
        with pytest.raises(BillingRefused, match="need PostgreSQL"):
            bill_with_workers(engine, until, 2)


def test_provisional_numbers_are_replaced_wherever_they_are() -> None:
    """Text, lists, tuples, dicts and frozen records; other values and unknown marks kept."""
    first, second = Batch().provisional_number(), "\x1e2\x1e"
    mapping = {first: "INV-000007", second: "INV-000008"}
    payload = {
        "invoice": {"number": first, "total_minor": 100},
        "description": f"Adjustment to {first} and {second}; \x1e9\x1e stays",
        "lines": [(first, 1)],
    }
    assert renumbered(payload, mapping) == {
        "invoice": {"number": "INV-000007", "total_minor": 100},
        "description": "Adjustment to INV-000007 and INV-000008; \x1e9\x1e stays",
        "lines": [("INV-000007", 1)],
    }


def test_an_account_held_by_another_transaction_is_billed_once_released(
    engine: Engine, database_url: str
) -> None:
    """A run finds one of its 60 accounts locked by another transaction (a request recording
    an event, another worker): it bills the others first, then waits for that one and bills
    it too, once released, in the same run."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: the run waits for the other transaction at once")
    ids = import_copies(engine, THIRD_ATTEMPT, 60)
    held = ids[7]
    other = create_engine(database_url)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with other.connect() as connection, connection.begin():
            connection.execute(
                text("SELECT id FROM accounts WHERE id = :id FOR UPDATE"), {"id": held}
            )
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(30)
    told: list[int] = []

    def progress(done: BillingReport) -> None:
        told.append(done.accounts)
        if sum(told) == 59:  # every account but the held one: let it go
            release.set()

    report = bill(engine, datetime(2024, 3, 1, tzinfo=UTC), progress=progress)
    holder.join()
    other.dispose()
    assert told == [50, 9, 1]
    assert (report.accounts, report.invoices, report.failed) == (60, 60, ())
    with engine.connect() as connection:
        assert len(repository.issued_invoices(connection, held)) == 1
