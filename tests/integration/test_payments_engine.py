"""Getting paid through the engine, on SQLite and PostgreSQL: billing runs on several days
perform charges, retries, reminders, dunning's final action and the purge in time order, and
end where the pure core's simulation of the same scenario ends; a new payment method is
charged at once; a payment recorded by hand yields a receipt and stops the reminders; the
outbox is delivered by the worker to a real SMTP server and a real HTTP receiver."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdf
import pytest
from sqlalchemy import Engine, select
from standardwebhooks.webhooks import Webhook
from test_email import Inbox, smtp  # noqa: F401  (the SMTP fixture)
from test_webhooks import Receiver, receiver  # noqa: F401  (the HTTP receiver fixture)

from seatwise.collect.email import SmtpMailer, SmtpSettings
from seatwise.collect.outbox import LEASE, deliver_due
from seatwise.core.notifications import order_key
from seatwise.core.seat_timeline import MemberChange
from seatwise.engine import collection
from seatwise.engine import invoice_lifecycle as lifecycle
from seatwise.engine.batch import MARK
from seatwise.engine.billing_run import bill
from seatwise.engine.clock import FixedClock
from seatwise.engine.collection import AccountRun
from seatwise.engine.importing import import_scenario
from seatwise.engine.payments import (
    PaymentRefused,
    add_webhook_endpoint,
    receipts,
    set_payment_method,
)
from seatwise.engine.recording import EventRefused, record_event
from seatwise.engine.simulation import notification
from seatwise.scenario import Scenario, parse_scenario
from seatwise.scenario_result import document, invoice_json, run_scenario
from seatwise.store import outbox_repository as outbox_store
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import contacts, members, purges

NEVER_PAYS = """
name: never pays
plan: {preset: active-users-monthly, currency: USD, price: "8.00"}
account:
  subscribed_at: 2024-01-07T10:00:00Z
  contacts: [ap@initech.example]
  payment_method: declines
members:
  - {id: admin, manage_billing: true, email: admin@initech.example}
  - {count: 2}
webhooks: [http://127.0.0.1:9/never-called]
until: 2024-07-01T00:00:00Z
"""

REMINDED = """
name: reminded
plan: {preset: licences-annual, currency: USD, price: "120.00"}
account:
  subscribed_at: 2024-01-01T00:00:00Z
  committed_seats: 10
  contacts: [finance@globex.example]
members: [{count: 10}]
until: 2024-01-31T12:00:00Z
"""


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Engine:
    migrate(database_url)
    store = make_engine(database_url)
    yield store
    store.dispose()


def load(engine: Engine, text: str, account: str = "acme") -> Scenario:
    scenario = parse_scenario(text)
    import_scenario(engine, scenario, account, scenario.until, notify_history=True)
    return scenario


def compare_with_the_core(
    engine: Engine, scenario: Scenario, until: datetime, purged: bool = False
) -> None:
    """The engine's invoices, statuses, notifications and account status equal the pure
    core's simulation of the same scenario up to ``until`` (once purged, emails have lost
    their recipients)."""
    with engine.connect() as connection:
        issued = repository.issued_invoices(connection, "acme")
        messages = outbox_store.outbox_of(connection, "acme")
        status = repository.load_account(connection, "acme").status
    cur = scenario.plan.currency
    pure = run_scenario(replace(scenario, until=until))
    expected = document(pure)
    assert [invoice_json(cur, e.number, e.status, e.invoice) for e in issued] == expected[
        "invoices"
    ]
    got = sorted((notification(row.message) for row in messages), key=order_key)
    want = list(pure.notifications)
    if purged:
        want = [replace(n, to=()) if n.channel == "email" else n for n in want]
    assert got == want
    assert status == expected["account"]["status"]


def test_billing_runs_on_several_days_collect_in_time_order_and_purge(engine: Engine) -> None:
    scenario = load(engine, NEVER_PAYS)  # its endpoint registered by the import
    for day in (at(2024, 2, 9), at(2024, 2, 11), at(2024, 2, 13), at(2024, 2, 16), at(2024, 3, 9)):
        bill(engine, day)
        compare_with_the_core(engine, scenario, day)
    with engine.connect() as connection:
        made = payments.attempts(connection, "acme")
        assert [(a.attempt.at, a.attempt.succeeded, a.number) for a in made] == [
            (at(2024, 2, 8, 10), False, 1),
            (at(2024, 2, 10, 10), False, 2),
            (at(2024, 2, 12, 10), False, 3),
        ]
        stored = repository.load_account(connection, "acme")
        assert stored.status == "deleted"
        assert payments.account_end(connection, "acme").ended_at == at(2024, 2, 15, 10)
    with pytest.raises(EventRefused, match="'acme' is deleted since 2024-02-15T10:00:00Z"):
        record_event(
            engine, "acme", MemberChange(at(2024, 3, 1), "newcomer", "activate"),
            FixedClock(at(2024, 3, 9)),
        )  # fmt: skip
    # The personal data goes 120 days after the deletion (14 Jun 2024 10:00), not before.
    bill(engine, at(2024, 6, 14, 9))
    with engine.connect() as connection:
        assert payments.account_end(connection, "acme").purged_at is None
    bill(engine, at(2024, 6, 15))
    with engine.connect() as connection:
        assert payments.account_end(connection, "acme").purged_at == at(2024, 6, 14, 10)
        assert list(connection.execute(select(contacts.c.email))) == []
        assert all(row.email is None for row in connection.execute(select(members)))
        (purge,) = connection.execute(select(purges)).all()
        assert purge.removed.startswith("1 billing contact(s), 1 member email address(es)")
        invoices = repository.issued_invoices(connection, "acme")
        assert [(e.number, e.status, e.invoice.total) for e in invoices] == [
            ("INV-000001", "open", 2400)
        ]  # kept, as the law requires
    compare_with_the_core(engine, scenario, at(2024, 6, 15), purged=True)
    with engine.connect() as connection:
        assert outbox_store.outbox_of(connection, "acme")[-1].message.kind == "account_purged"
    assert bill(engine, at(2024, 7, 1)).invoices == 0


def test_a_run_asks_what_is_due_once_per_action_it_performs(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issuing the invoices that come before an action changes nothing the action was found
    from: the run performs it without asking again (one question per action, and one that
    finds nothing more), and ends where the core's simulation ends."""
    scenario = load(engine, NEVER_PAYS)
    asked: list[object] = []
    performed: list[object] = []
    ask, perform = AccountRun.next_action, collection.perform

    def counted_ask(self: AccountRun, to_issue: Any, now: datetime | None = None) -> Any:
        found = ask(self, to_issue, now)
        if now is None:  # not the run's end asking when anything is due next (run_end)
            asked.append(found)
        return found

    def counted_perform(run: AccountRun, result: Any, action: Any) -> bool:
        performed.append(action)
        return perform(run, result, action)

    monkeypatch.setattr(AccountRun, "next_action", counted_ask)
    monkeypatch.setattr(collection, "perform", counted_perform)
    bill(engine, at(2024, 3, 9))
    compare_with_the_core(engine, scenario, at(2024, 3, 9))
    # each names the invoice by the number it was issued with (its number until commit;
    # the first charge was found before the invoice was issued)
    first = f"{MARK}1{MARK}"
    assert [(type(a).__name__, a.at, a.invoice) for a in performed] == [
        ("Charge", at(2024, 2, 8, 10), first),
        ("Charge", at(2024, 2, 10, 10), first),
        ("Charge", at(2024, 2, 12, 10), first),
        ("FinalAction", at(2024, 2, 15, 10), first),
    ]
    # the first charge was found as the charge of the first invoice about to be issued
    assert asked == [replace(performed[0], invoice="~0"), *performed[1:], None]


def test_a_new_payment_method_is_charged_at_once(engine: Engine) -> None:
    load(engine, NEVER_PAYS.replace("webhooks: [http://127.0.0.1:9/never-called]\n", ""))
    bill(engine, at(2024, 2, 8, 12))
    clock = FixedClock(at(2024, 2, 9, 15))
    with pytest.raises(PaymentRefused, match="in the future"):
        set_payment_method(engine, "acme", "succeeds", clock, at(2024, 2, 10))
    with pytest.raises(PaymentRefused, match="not one the test gateway knows"):
        set_payment_method(engine, "acme", "visa-4242", clock)
    updated = set_payment_method(engine, "acme", "succeeds", clock)
    assert [(a.attempt.invoice, a.number, a.attempt.succeeded) for a in updated.attempts] == [
        ("INV-000001", 2, True)
    ]
    (proof,) = receipts(engine, "INV-000001")
    assert (proof.receipt, proof.amount, proof.paid_at) == ("RCT-000001", "$24.00", clock.instant)
    with engine.connect() as connection:
        (invoice,) = repository.issued_invoices(connection, "acme")
        assert invoice.status == "paid"
        history = repository.status_history(connection, invoice.id)
        assert [(h.from_status, h.to_status) for h in history] == [(None, "open"), ("open", "paid")]
    # No retry on 10 Feb, no deletion on 15 Feb: the account carries on.
    assert bill(engine, at(2024, 3, 8, 10)).invoices == 1
    with engine.connect() as connection:
        assert repository.load_account(connection, "acme").status == "active"
        (_, second) = repository.issued_invoices(connection, "acme")
        assert second.status == "paid"


def test_reminders_stop_once_an_invoice_is_paid_by_hand(engine: Engine) -> None:
    load(engine, REMINDED)
    bill(engine, at(2024, 1, 20))  # the 15-day reminder (16 Jan) only
    with engine.connect() as connection:
        kinds = [(r.message.kind, r.message.at) for r in outbox_store.outbox_of(connection, "acme")]
    assert kinds == [
        ("invoice_issued", at(2024, 1, 1)),
        ("reminder", at(2024, 1, 16)),
    ]
    with engine.begin() as connection:
        outbox_store.add_endpoint(
            connection, "http://127.0.0.1:9/hooks", "whsec_x", at(2024, 1, 20)
        )
    lifecycle.mark_paid(engine, "INV-000001", at(2024, 1, 21), "bank transfer 2024-0042")
    (proof,) = receipts(engine, "INV-000001")
    assert (proof.receipt, proof.amount, proof.method) == (
        "RCT-000001",
        "$1,200.00",
        "recorded by hand",
    )
    bill(engine, at(2024, 1, 31, 12))  # 24, 28 and 30 Jan would have reminded an unpaid one
    with engine.connect() as connection:
        kinds = [
            (r.message.kind, r.message.channel) for r in outbox_store.outbox_of(connection, "acme")
        ]
    assert kinds == [
        ("invoice_issued", "email"),
        ("reminder", "email"),
        ("invoice_paid", "webhook"),
    ]


def test_the_worker_delivers_email_and_signed_webhooks_and_logs_retries(
    engine: Engine, smtp: tuple[Inbox, int], receiver: Receiver
) -> None:
    inbox, port = smtp
    clock = FixedClock(at(2024, 1, 1))
    endpoint = add_webhook_endpoint(engine, receiver.url, clock)
    load(engine, REMINDED)
    bill(engine, at(2024, 1, 16, 1))  # issued + 15-day reminder: 2 emails, 2 webhooks
    mailer = SmtpMailer(
        SmtpSettings("127.0.0.1", port, security="none", sender="billing@v.example")
    )
    receiver.failures = 1  # the first POST gets a 503
    clock.instant = datetime.now(UTC)  # the worker signs with its time: receivers refuse stale
    report = deliver_due(engine, clock, mailer, vendor="Globex's vendor")
    assert (report.delivered, report.retrying, report.failed) == (3, 1, 0)
    subjects = [message["Subject"] for _, message in inbox.received]
    assert subjects == [
        "Invoice INV-000001 from Globex's vendor: $1,200.00 due 31 Jan 2024",
        "Reminder: invoice INV-000001 ($1,200.00) is due 31 Jan 2024",
    ]
    assert [to for to, _ in inbox.received] == [["finance@globex.example"]] * 2
    issued_mail, reminder_mail = (message for _, message in inbox.received)
    (attached,) = issued_mail.iter_attachments()  # the invoice's PDF, as the page serves it
    assert (attached.get_filename(), attached.get_content_type()) == (
        "INV-000001.pdf",
        "application/pdf",
    )
    pdf_text = pypdf.PdfReader(io.BytesIO(attached.get_content())).pages[0].extract_text()
    assert "INV-000001" in pdf_text and "Total $1,200.00" in pdf_text
    body = issued_mail.get_body(preferencelist=("plain",))
    assert body is not None and "The invoice is attached as a PDF." in body.get_content()
    assert list(reminder_mail.iter_attachments()) == []
    # Nothing more is due until the retry, 5 s later; then the 503'd webhook goes again.
    assert deliver_due(engine, clock, mailer).delivered == 0
    clock.instant += timedelta(seconds=5)
    assert deliver_due(engine, clock, mailer).delivered == 1
    verifier = Webhook(endpoint.secret)
    received = [({k.lower(): v for k, v in h.items()}, body) for h, body in receiver.received]
    bodies = [verifier.verify(body, headers) for headers, body in received]
    ids = [headers["webhook-id"] for headers, _ in received]
    assert ids[0] == ids[2] != ids[1]  # the retry is the same event: receivers drop repeats
    assert [b["type"] for b in bodies] == ["invoice.issued", "invoice.reminder", "invoice.issued"]
    assert bodies[1]["data"]["days_before"] == 15
    issued = bodies[0]["data"]
    assert issued["account"] == "acme" and issued["at"] == "2024-01-01T00:00:00Z"
    assert issued["invoice"] == {
        "number": "INV-000001",
        "kind": "initial",
        "status": "open",
        "currency": "USD",
        "total": "1200.00",
        "total_minor": 120000,
        "amount_due": "1200.00",
        "amount_due_minor": 120000,
        "issued_at": "2024-01-01T00:00:00Z",
        "due_at": "2024-01-31T00:00:00Z",
        "period_start": "2024-01-01T00:00:00Z",
        "period_end": "2025-01-01T00:00:00Z",
    }
    assert issued["description"] == (
        "Invoice INV-000001 (initial, $1,200.00) issued, due 2024-01-31T00:00:00Z."
    )
    with engine.connect() as connection:
        rows = outbox_store.outbox_of(connection)
        assert {row.status for row in rows} == {"delivered"}
        log = outbox_store.delivery_log(connection)
    assert [(d.attempt, d.succeeded) for d in log if not d.succeeded] == [(1, False)]
    assert "HTTP 503" in next(d.detail for d in log if not d.succeeded)


def test_a_worker_killed_mid_delivery_loses_nothing(engine: Engine, database_url: str) -> None:
    server = Receiver(0)
    stalled = threading.Event()
    release = threading.Event()
    original = server.RequestHandlerClass.do_POST

    def do_post(handler: Any) -> None:
        if not stalled.is_set():
            body = handler.rfile.read(int(handler.headers["content-length"]))
            handler.server.received.append((dict(handler.headers.items()), body))
            stalled.set()
            release.wait(30)  # the worker blocks here until it is killed
            return
        original(handler)

    server.RequestHandlerClass = type(
        "Stalling", (server.RequestHandlerClass,), {"do_POST": do_post}
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        add_webhook_endpoint(engine, server.url, FixedClock(at(2024, 1, 1)))
        load(engine, REMINDED)
        bill(engine, at(2024, 1, 2))  # one message: invoice_issued to the endpoint (no SMTP)
        worker = subprocess.Popen(
            [sys.executable, "-m", "seatwise.cli", "deliver", "--database-url", database_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if not k.startswith("SEATWISE_SMTP")},
        )
        if not stalled.wait(30):
            worker.kill()
            pytest.fail(f"the worker never posted: {worker.communicate()}")
        os.kill(worker.pid, signal.SIGKILL)  # between sending and recording the delivery
        worker.wait()
        release.set()
        with engine.connect() as connection:
            (row,) = [
                r for r in outbox_store.outbox_of(connection) if r.message.channel == "webhook"
            ]
            assert (row.status, row.attempts) == ("pending", 0)  # leased, not lost
            assert outbox_store.delivery_log(connection) == []
        soon = FixedClock(datetime.now(UTC) + timedelta(minutes=1))
        assert deliver_due(engine, soon, None).delivered == 0  # the dead worker's lease holds
        later = FixedClock(datetime.now(UTC) + LEASE + timedelta(seconds=1))
        assert deliver_due(engine, later, None).delivered == 1  # taken again, delivered
        first, second = (
            {k.lower(): v for k, v in h.items()}["webhook-id"] for h, _ in server.received
        )
        assert first == second  # the same event: the receiver can drop the repeat
        with engine.connect() as connection:
            (row,) = [
                r for r in outbox_store.outbox_of(connection) if r.message.channel == "webhook"
            ]
            assert (row.status, row.attempts) == ("delivered", 1)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
