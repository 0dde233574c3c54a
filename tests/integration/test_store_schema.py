"""The schema on SQLite and PostgreSQL: migrations, instants, money, the exactly-once key."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from seatwise.store import bulk
from seatwise.store.database import make_engine, migrate, schema_head
from seatwise.store.tables import accounts, invoices, metadata, plans
from seatwise.store.types import UTCDateTime

NOW = datetime(2024, 3, 31, 22, 30, tzinfo=UTC)


def test_migrate_creates_every_table_and_is_idempotent(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)  # a second run changes nothing and does not fail
    engine = make_engine(database_url)
    assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == schema_head()
        assert compare_metadata(context, metadata) == []  # migrations match the tables
    engine.dispose()


def seed(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(insert(plans).values(id="p", definition="{}", created_at=NOW))
        connection.execute(
            insert(accounts).values(
                id="acme",
                plan_id="p",
                subscribed_at=NOW,
                committed_seats=0,
                timezone="UTC",
                payment_method="succeeds",
                status="active",
                credit_balance=0,
                created_at=NOW,
            )
        )
    engine.dispose()


def invoice_row(number: str, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "account_id": "acme",
        "number": number,
        "kind": "renewal",
        "status": "open",
        "currency": "EUR",
        "period_start": NOW,
        "period_end": NOW + timedelta(days=30),
        "issued_at": NOW,
        "due_at": NOW + timedelta(days=30),
        "total": 817664,
    }
    row.update(changes)
    return row


def test_instants_come_back_aware_in_utc_and_money_exact(database_url: str) -> None:
    seed(database_url)
    paris = timezone(timedelta(hours=2))
    issued = datetime(2024, 4, 1, 0, 30, tzinfo=paris)  # the same instant as NOW
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            insert(invoices).values(
                invoice_row("INV-000001", issued_at=issued, total=9_007_199_254_740_993)
            )
        )
        row = connection.execute(select(invoices.c.issued_at, invoices.c.total)).one()
    assert row.issued_at == NOW and row.issued_at.tzinfo == UTC
    assert row.total == 9_007_199_254_740_993  # beyond a float's exact integers
    engine.dispose()


def test_instants_read_back_exactly_whatever_their_digits(database_url: str) -> None:
    """Whole seconds, microseconds, the last microsecond of a year, and a maximum over a
    column: each read back as the same instant, aware in UTC (on SQLite the stored text is
    parsed in one step, not by SQLAlchemy's parser)."""
    seed(database_url)
    instants = [
        datetime(2024, 4, 1, 0, 30, tzinfo=UTC),
        datetime(2025, 3, 15, 9, 30, 0, 123456, tzinfo=UTC),
        datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, 0, 1, tzinfo=UTC),
    ]
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for index, instant in enumerate(instants):
            connection.execute(
                insert(invoices).values(
                    invoice_row(f"INV-{index}", issued_at=instant, period_start=instant)
                )
            )
        query = select(invoices.c.issued_at).order_by(invoices.c.id)
        as_read = list(connection.execute(query).scalars())
        latest = connection.execute(select(func.max(invoices.c.issued_at))).scalar_one()
        # written by raw SQL with an offset of its own (SQLite: the driver's text for it)
        connection.execute(
            text("UPDATE invoices SET due_at = :at WHERE number = 'INV-0'"),
            {"at": datetime(2024, 4, 1, 2, 30, tzinfo=timezone(timedelta(hours=2)))},
        )
        due = connection.execute(
            select(invoices.c.due_at).where(invoices.c.number == "INV-0")
        ).scalar_one()
    assert as_read == instants and latest == instants[3]
    assert due == datetime(2024, 4, 1, 0, 30, tzinfo=UTC)
    assert all(instant.utcoffset() == timedelta(0) for instant in [*as_read, latest, due])
    engine.dispose()


def test_a_postgresql_session_reads_instants_in_utc_whatever_the_servers_zone(
    database_url: str,
) -> None:
    """A server (or a URL) may set another time zone for its sessions; the engine sets each
    session to UTC, so instants come back as the driver's UTC ones, the very ``UTC`` object,
    with nothing to convert per value; and SQL sees UTC dates."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no session time zone")
    seed(database_url)
    tokyo = f"{database_url}?options=-c%20TimeZone%3DAsia/Tokyo"  # a session zone of +09:00
    engine = make_engine(tokyo)
    with engine.begin() as connection:
        connection.execute(insert(invoices).values(invoice_row("INV-1")))
        assert connection.execute(text("SHOW TIME ZONE")).scalar_one() == "UTC"
        issued = connection.execute(select(invoices.c.issued_at)).scalar_one()
        day = connection.execute(text("SELECT issued_at::date FROM invoices")).scalar_one()
    assert issued == NOW and issued.tzinfo is UTC
    assert str(day) == "2024-03-31"  # 22:30 UTC; in Tokyo it was already 1 April
    engine.dispose()


def test_a_naive_instant_is_refused(database_url: str) -> None:
    seed(database_url)
    engine = make_engine(database_url)
    with pytest.raises(StatementError, match="has no time zone"), engine.begin() as connection:
        connection.execute(
            insert(invoices).values(invoice_row("INV-000001", issued_at=datetime(2024, 4, 1)))
        )
    engine.dispose()


def test_one_invoice_per_account_kind_and_period(database_url: str) -> None:
    seed(database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(insert(invoices).values(invoice_row("INV-000001")))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(invoices).values(invoice_row("INV-000002")))
    with engine.begin() as connection:  # another kind for the same period is fine
        connection.execute(insert(invoices).values(invoice_row("INV-000002", kind="interim")))
        assert len(connection.execute(select(invoices.c.id)).all()) == 2
    engine.dispose()


@pytest.mark.parametrize(
    ("instant", "sqlite_text"),
    [
        (datetime(2025, 3, 15, 9, 30, 0, 123456, tzinfo=UTC), "2025-03-15 09:30:00.123456"),
        # no microseconds: still written, as zeros
        (datetime(2025, 3, 15, 9, 30, tzinfo=UTC), "2025-03-15 09:30:00.000000"),
        (
            datetime(2025, 3, 15, 10, 30, 0, 5, tzinfo=timezone(timedelta(hours=1))),
            "2025-03-15 09:30:00.000005",
        ),
        (  # New York is on summer time (UTC−4) since 9 March
            datetime(2025, 3, 15, 4, 30, 0, 999999, tzinfo=ZoneInfo("America/New_York")),
            "2025-03-15 08:30:00.999999",
        ),
        (
            datetime(2025, 3, 15, 9, 30, 0, 1, tzinfo=ZoneInfo("UTC")),
            "2025-03-15 09:30:00.000001",
        ),
    ],
    ids=["utc", "utc-whole-second", "fixed-offset", "zone", "zoneinfo-utc"],
)
def test_bulk_writes_store_exactly_what_sqlalchemy_stores(
    database_url: str, instant: datetime, sqlite_text: str
) -> None:
    """The billing run's bulk path and SQLAlchemy's statements give byte-identical rows,
    whatever zone the instant is given in; on SQLite, the text of SQLAlchemy's own
    ``DATETIME`` (naive UTC with microseconds), which the rows written before hold."""
    seed(database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(insert(invoices), [invoice_row("INV-1", period_start=instant)])
        (bulk_id,) = bulk.reserve_ids(connection, invoices, 1)
        row = {"id": bulk_id, **invoice_row("INV-2", kind="initial", period_start=instant)}
        bulk.insert_rows(connection, invoices, list(row), [tuple(row.values())])
    with engine.connect() as connection:
        texts = connection.execute(
            text("SELECT CAST(period_start AS TEXT), CAST(issued_at AS TEXT) FROM invoices")
        ).all()
        assert texts[0] == texts[1]
        if database_url.startswith("sqlite"):
            assert texts[0][0] == sqlite_text
        read = connection.execute(select(invoices.c.period_start)).scalars().all()
    assert read == [instant, instant]
    engine.dispose()


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, ZoneInfo("America/New_York"), timezone.min]),
    )
)
def test_sqlite_text_is_sqlalchemys_datetime_text_for_any_instant(instant: datetime) -> None:
    """The text an instant is stored as on SQLite is written from orjson's, not by
    isoformat: SQLAlchemy's naive UTC with six digits of microseconds for every instant."""
    naive_utc = instant.astimezone(UTC).replace(tzinfo=None)
    assert UTCDateTime.sqlite_text(instant) == naive_utc.isoformat(" ", "microseconds")


@pytest.mark.parametrize("count", [6, 133])
def test_rows_written_at_once_are_stored_each_with_its_own_values(
    database_url: str, count: int
) -> None:
    """Invoices written by one bulk insert come back row by row exactly as given: six (on
    PostgreSQL one statement, each row's values numbered in turn; on SQLite a
    statement a row), and 133 (on SQLite two statements of 64 rows, then five of one; on
    PostgreSQL a COPY)."""
    seed(database_url)
    engine = make_engine(database_url)
    rows = []
    with engine.begin() as connection:
        ids = bulk.reserve_ids(connection, invoices, count)
        for index, invoice_id in enumerate(ids):
            row = {
                "id": invoice_id,
                **invoice_row(
                    f"INV-{index}",
                    kind=("renewal", "interim", "final")[index % 3],
                    period_start=NOW + timedelta(days=index, microseconds=index),
                    total=100 * index - 250,
                ),
            }
            rows.append(row)
        bulk.insert_rows(connection, invoices, list(rows[0]), [tuple(r.values()) for r in rows])
    with engine.connect() as connection:
        read = connection.execute(
            select(
                invoices.c.id,
                invoices.c.number,
                invoices.c.kind,
                invoices.c.period_start,
                invoices.c.total,
            ).order_by(invoices.c.id)
        ).all()
    assert [tuple(r) for r in read] == [
        (r["id"], r["number"], r["kind"], r["period_start"], r["total"]) for r in rows
    ]
    assert len(read) == count
    assert read[5][1:] == ("INV-5", "final", datetime(2024, 4, 5, 22, 30, 0, 5, tzinfo=UTC), 250)
    engine.dispose()


def test_a_sqlite_store_binds_none_and_booleans_without_sqlite3s_lookup() -> None:
    """After an engine for SQLite is made, None and booleans are adapted by the adapters it
    registers (sqlite3 otherwise looks for two attributes on each, raising and formatting
    an error twice a value) and stored as before: NULL, and 1 or 0."""
    engine = make_engine("sqlite://")
    assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters
    assert (bool, sqlite3.PrepareProtocol) in sqlite3.adapters
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT :none IS NULL, typeof(:none), :yes, typeof(:yes), :no"),
            {"none": None, "yes": True, "no": False},
        ).one()
    assert tuple(row) == (1, "null", 1, "integer", 0)
    engine.dispose()
