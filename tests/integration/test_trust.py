"""Trust under real use, on SQLite and PostgreSQL: nothing is done ahead of time, a preview
changes nothing, invoice changes happen between the invoice's issue and now, imported history
is not mailed, reminders of invoices paid since are not sent, each webhook endpoint signs with
its own secret, and a receiver answering garbage stops nothing."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from test_email import Inbox, smtp  # noqa: F401  (the SMTP fixture)
from test_webhooks import Receiver

from seatwise.collect.email import SmtpMailer, SmtpSettings
from seatwise.collect.outbox import deliver_due
from seatwise.core.errors import FieldError
from seatwise.core.seat_timeline import MemberChange
from seatwise.engine import invoice_lifecycle as lifecycle
from seatwise.engine.billing_preview import preview
from seatwise.engine.billing_report import BillingRefused
from seatwise.engine.billing_run import bill
from seatwise.engine.clock import FixedClock
from seatwise.engine.importing import ImportRefused, import_scenario
from seatwise.engine.payments import (
    PaymentRefused,
    UnknownEndpoint,
    add_webhook_endpoint,
    remove_webhook_endpoint,
    rotate_webhook_secret,
)
from seatwise.engine.recording import record_event
from seatwise.scenario import parse_scenario
from seatwise.store import outbox_repository as outbox_store
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import invoices, outbox, payment_attempts, reminders, timeline_events

GLOBEX = """
plan: {preset: licences-annual, currency: USD, price: "120.00"}
account:
  subscribed_at: 2024-01-15T00:00:00Z
  committed_seats: 10
  contacts: [finance@globex.example]
members: [{count: 10}]
until: 2024-01-15T00:00:00Z
"""


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    migrate(database_url)
    store = make_engine(database_url)
    yield store
    store.dispose()


def load(engine: Engine, now: datetime, notify_history: bool = True, text: str = GLOBEX) -> None:
    import_scenario(engine, parse_scenario(text), "globex", now, notify_history)


def counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as connection:
        return tuple(
            int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (invoices, outbox, reminders, payment_attempts, timeline_events)
        )


def kinds(engine: Engine) -> list[tuple[str, str, datetime]]:
    with engine.connect() as connection:
        return [
            (row.message.kind, row.message.channel, row.message.at)
            for row in outbox_store.outbox_of(connection)
        ]


def test_billing_never_acts_ahead_and_a_preview_changes_nothing(engine: Engine) -> None:
    load(engine, at(2024, 1, 15))
    with pytest.raises(BillingRefused, match="2024-02-01T00:00:00Z is in the future"):
        bill(engine, at(2024, 2, 1), clock=FixedClock(at(2024, 1, 20)))
    before = counts(engine)
    ahead = preview(engine, at(2024, 3, 15, 1))
    assert counts(engine) == before  # nothing stored, nothing queued
    assert [
        (e.invoice.kind, e.invoice.issued_at, e.invoice.total, e.status) for e in ahead.invoices
    ] == [
        ("initial", at(2024, 1, 15), 120_000, "open"),  # 10 × $120.00, sent by transfer
        ("statement", at(2024, 2, 15), 0, "paid"),
        ("statement", at(2024, 3, 15), 0, "paid"),
    ]
    assert (ahead.reminders, ahead.charges) == (4, 0)  # 30 Jan, 7, 11 and 13 Feb
    bill(engine, at(2024, 2, 20), clock=FixedClock(at(2024, 2, 20)))
    assert [e.invoice.kind for e in preview(engine, at(2024, 3, 15, 1)).invoices] == ["statement"]


def test_invoice_changes_happen_between_its_issue_and_now(engine: Engine) -> None:
    load(engine, at(2024, 1, 15))
    bill(engine, at(2024, 1, 20))
    clock = FixedClock(at(2024, 1, 20))
    paid, void, credit = lifecycle.mark_paid, lifecycle.void, lifecycle.issue_credit_note
    number = "INV-000001"
    refusals = [
        (lambda: paid(engine, number, at(2024, 1, 21), clock=clock), "in the future"),
        (lambda: paid(engine, number, at(2024, 1, 14), clock=clock), "before INV-000001 was"),
        (lambda: void(engine, number, at(2024, 1, 21), "typo", clock), "in the future"),
        (lambda: credit(engine, number, 1, "x", at(2024, 1, 10), clock), "before INV-000001 was"),
        (
            lambda: paid(engine, number, at(2024, 1, 18), clock=clock, amount=100),
            "owes $1,200.00, not $1.00",
        ),
    ]
    for attempt, reason in refusals:
        with pytest.raises(lifecycle.LifecycleRefused, match=re.escape(reason)):
            attempt()
    with pytest.raises(FieldError, match="reason: must not be empty"):
        lifecycle.void(engine, "INV-000001", at(2024, 1, 18), "  ", clock)
    assert counts(engine)[3] == 0  # no payment recorded
    lifecycle.mark_paid(engine, "INV-000001", at(2024, 1, 18), "transfer", clock, amount=120_000)
    with pytest.raises(lifecycle.LifecycleRefused, match="before INV-000001's last change"):
        lifecycle.issue_credit_note(engine, "INV-000001", 100, "goodwill", at(2024, 1, 17), clock)


def test_an_import_refuses_the_future_and_tells_only_the_present(
    engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    year = GLOBEX.replace("until: 2024-01-15", "until: 2025-01-20")
    later = year.replace("until: 2025-01-20", "until: 2025-02-01").replace(
        "members: [{count: 10}]",
        "members: [{count: 10}]\nevents: [{at: 2025-01-25T00:00:00Z, activate: 1}]",
    )
    with pytest.raises(ImportRefused, match="an event at 2025-01-25T00:00:00Z is in the future"):
        load(engine, at(2025, 1, 10), text=later)
    assert counts(engine) == (0, 0, 0, 0, 0)
    load(engine, at(2025, 1, 10), notify_history=False, text=year)  # a year of history
    bill(engine, at(2025, 1, 20))
    with engine.connect() as connection:
        assert len(connection.execute(select(invoices)).all()) == 13  # the year is billed
    # told: the renewal of 15 Jan 2025 only; the past's 13 invoices and reminders are not
    assert kinds(engine) == [("invoice_issued", "email", at(2025, 1, 15))]
    inbox, port = smtp
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port, security="none", sender="b@v.example"))
    assert deliver_due(engine, FixedClock(at(2025, 1, 20)), mailer).delivered == 1
    ((_, email),) = inbox.received
    assert email["Subject"].startswith("Invoice INV-000013 from Seatwise")
    assert email["Date"] is not None and email["Message-ID"] is not None


def test_a_reminder_of_an_invoice_paid_since_is_not_sent(
    engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    load(engine, at(2024, 1, 15))
    bill(engine, at(2024, 1, 31))  # issued, and reminded 15 days before 14 Feb (30 Jan)
    assert [k for k, _, _ in kinds(engine)] == ["invoice_issued", "reminder"]
    lifecycle.mark_paid(engine, "INV-000001", at(2024, 1, 31), "transfer")  # before delivery
    inbox, port = smtp
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port, security="none", sender="b@v.example"))
    report = deliver_due(engine, FixedClock(at(2024, 1, 31, 1)), mailer)
    assert (report.delivered, report.skipped) == (1, 1)
    assert [message["Subject"][:7] for _, message in inbox.received] == ["Invoice"]
    with engine.connect() as connection:
        rows = outbox_store.outbox_of(connection)
    assert [(r.message.kind, r.status, r.last_error) for r in rows] == [
        ("invoice_issued", "delivered", None),
        ("reminder", "skipped", "INV-000001 is paid: the reminder is not sent"),
    ]


def serve(server: Any) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def verified(secret: str, received: tuple[dict[str, str], bytes]) -> dict[str, Any]:
    headers = {key.lower(): value for key, value in received[0].items()}
    body: dict[str, Any] = Webhook(secret).verify(received[1], headers)
    return body


def test_each_endpoint_signs_with_its_own_secret_and_can_be_rotated_or_removed(
    engine: Engine,
) -> None:
    first, second = Receiver(0), Receiver(0)
    for server in (first, second):
        serve(server)
    try:
        clock = FixedClock(datetime.now(UTC))
        one = add_webhook_endpoint(engine, first.url, clock)
        two = add_webhook_endpoint(engine, second.url, clock)
        with pytest.raises(PaymentRefused, match=f"registered already, as endpoint {one.id}"):
            add_webhook_endpoint(engine, first.url, clock)
        assert one.secret != two.secret
        load(engine, at(2024, 1, 15))
        bill(engine, at(2024, 1, 16))
        deliver_due(engine, clock, None)
        assert verified(one.secret, first.received[0])["type"] == "invoice.issued"
        assert verified(two.secret, second.received[0])["type"] == "invoice.issued"
        with pytest.raises(WebhookVerificationError):
            verified(one.secret, second.received[0])

        rotated = rotate_webhook_secret(engine, one.id)
        remove_webhook_endpoint(engine, two.id)
        with pytest.raises(UnknownEndpoint, match=f"no webhook endpoint {two.id}"):
            remove_webhook_endpoint(engine, two.id)
        bill(engine, at(2024, 1, 31))  # the reminder of 30 Jan: queued for endpoint one only
        lifecycle.void(engine, "INV-000001", at(2024, 1, 31), "issued in error")
        report = deliver_due(engine, clock, None)
        # the reminder is not sent (its invoice is void now); nothing goes to the removed one
        assert (report.delivered, report.skipped, len(second.received)) == (1, 1, 1)
        newest = verified(rotated.secret, first.received[-1])
        assert newest["type"] == "invoice.voided"
        assert newest["data"]["invoice"]["status"] == "void"
        with pytest.raises(WebhookVerificationError):
            verified(one.secret, first.received[-1])
    finally:
        for server in (first, second):
            server.shutdown()
            server.server_close()


class GarbageServer:
    """Answers every connection with bytes that are not HTTP."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/hooks"
        threading.Thread(target=self.answer, daemon=True).start()

    def answer(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(b"garbage, not HTTP\r\n\r\n")


def test_a_receiver_answering_garbage_is_a_failed_attempt_and_stops_nothing(
    engine: Engine,
) -> None:
    garbage, good = GarbageServer(), Receiver(0)
    serve(good)
    try:
        clock = FixedClock(datetime.now(UTC))
        add_webhook_endpoint(engine, garbage.url, clock)
        add_webhook_endpoint(engine, good.url, clock)
        load(engine, at(2024, 1, 15))
        bill(engine, at(2024, 1, 16))
        report = deliver_due(engine, clock, None)
        assert (report.delivered, report.retrying, report.failed) == (1, 1, 0)
        assert len(good.received) == 1
        with engine.connect() as connection:
            failing = [
                r
                for r in outbox_store.outbox_of(connection)
                if r.status == "pending" and r.message.channel == "webhook"
            ]
        assert len(failing) == 1
        assert (failing[0].last_error or "").startswith("BadStatusLine: garbage, not HTTP from")
        assert deliver_due(engine, clock, None).delivered == 0  # not due again before 5 s
    finally:
        garbage.socket.close()
        good.shutdown()
        good.server_close()


def test_a_late_member_event_after_import_is_told_normally(engine: Engine) -> None:
    """Facts from the import on are told: an assignment alert recorded after an import."""
    load(engine, at(2024, 1, 15), notify_history=False)
    record_event(
        engine,
        "globex",
        MemberChange(at(2024, 1, 16), "ana", "activate"),
        FixedClock(at(2024, 1, 16)),
    )
    bill(engine, at(2024, 2, 15))
    told = [(k, when) for k, _, when in kinds(engine)]
    assert ("invoice_issued", at(2024, 2, 15)) in told
    assert ("invoice_issued", at(2024, 1, 15)) in told  # the import instant itself is told
