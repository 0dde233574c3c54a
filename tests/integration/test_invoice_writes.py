"""What a billing run's bulk write of invoices stores (``repository.insert_invoices``), read
back as stored text and as records, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from plan_store import store_with_plan
from sqlalchemy import text

from seatwise.core.invoicing import Explanation, Invoice, Line
from seatwise.core.periods import Period
from seatwise.core.seat_timeline import MemberChange
from seatwise.engine.accounts import AccountSpec
from seatwise.engine.clock import FixedClock
from seatwise.store import repository
from seatwise.store.database import write_transaction
from seatwise.store.repository.invoice_writes import NewInvoice

START = datetime(2026, 1, 1, tzinfo=UTC)
PARIS_SUMMER = timezone(timedelta(hours=2))


def test_a_line_s_explanation_is_stored_with_its_changes_instants_in_utc(
    database_url: str,
) -> None:
    clock = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    engine = store_with_plan(database_url, clock, [AccountSpec("acme", "p", START)])
    changes = (
        MemberChange(datetime(2026, 2, 3, 9, 30, tzinfo=UTC), "ana", "activate"),
        MemberChange(datetime(2026, 2, 3, 9, 30, 0, 250_000, tzinfo=UTC), "ben", "activate"),
        MemberChange(datetime(2026, 2, 4, 11, 0, tzinfo=PARIS_SUMMER), "cleo", "activate"),
    )
    period = Period(datetime(2026, 2, 3, 9, 30, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    why = Explanation("Seats went from 1 to 4.", ("ana", "ben", "cleo"), changes)
    line = Line("additional_seats", "3 × Additional seat", 3, 1000, 2679, period, why)
    invoice = Invoice("interim", period.start, period.start, period, (line,))
    with write_transaction(engine) as connection:
        repository.insert_invoices(
            connection, [NewInvoice("acme", "USD", "INV-TEST", "open", invoice)]
        )
    with engine.connect() as connection:
        stored = connection.execute(
            text(
                "SELECT explanation FROM invoice_lines JOIN invoices ON invoices.id = invoice_id"
                " WHERE number = 'INV-TEST'"
            )
        ).scalar_one()
        read = repository.issued_invoices(connection, "acme")
    assert stored == (
        '{"summary":"Seats went from 1 to 4.","members":["ana","ben","cleo"],"changes":['
        '["2026-02-03T09:30:00Z","ana","activate"],'
        '["2026-02-03T09:30:00.250000Z","ben","activate"],'
        '["2026-02-04T09:00:00Z","cleo","activate"]]}'
    )
    assert [entry.invoice.lines for entry in read if entry.number == "INV-TEST"] == [(line,)]
