"""Every query of the store, over a connection the caller's unit of work owns.

Nothing here commits: a billing run decides where a transaction begins and ends
(:mod:`seatwise.engine.unit_of_work`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update

from seatwise.core.account import Account, Cancel, Terminate
from seatwise.core.billing import TimelineEvent
from seatwise.core.credits import (
    CHECKOUT,
    Assign,
    BuyCredits,
    CreditEntry,
    CreditsPaid,
    Start,
    Unassign,
    credit_action,
)
from seatwise.core.errors import SeatwiseError
from seatwise.core.invoice_states import DRAFT, OPEN, PAID
from seatwise.core.invoicing import Explanation, Invoice, Line
from seatwise.core.periods import Period, iso
from seatwise.core.plans import Plan, parse_plan
from seatwise.core.seat_timeline import Member, MemberChange
from seatwise.store import bulk
from seatwise.store.tables import (
    accounts,
    contacts,
    credit_entries,
    credit_notes,
    invoice_lines,
    invoice_sequences,
    invoice_status_changes,
    invoices,
    members,
    payment_methods,
    plans,
    timeline_events,
)

INVOICE_PREFIX = "INV-"
CREDIT_NOTE_PREFIX = "CN-"


class UnknownAccount(SeatwiseError):
    """No account has this id."""


class UnknownInvoice(SeatwiseError):
    """No invoice has this number."""


@dataclass(frozen=True)
class StoredAccount:
    """An account's billing inputs as stored: plan, account, timeline, balance."""

    id: str
    plan: Plan
    account: Account
    events: tuple[TimelineEvent, ...]
    payment_method: str
    status: str
    credit_balance: int
    notify_from: datetime | None = None  # facts before it are not told (imported history)

    def tells(self, at: datetime) -> bool:
        """Whether a fact at ``at`` is told to anyone (emails, webhooks)."""
        return self.notify_from is None or at >= self.notify_from


@dataclass(frozen=True)
class StoredInvoice:
    """An invoice as stored; ``number`` is None while it is a draft."""

    id: int
    account_id: str
    number: str | None
    status: str
    invoice: Invoice
    currency_code: str


def save_plan(
    connection: Connection, plan_id: str, definition: dict[str, Any], now: datetime
) -> None:
    parse_plan(definition)  # refuse an invalid plan before storing it
    connection.execute(
        insert(plans).values(
            id=plan_id,
            definition=json.dumps(definition, default=str, sort_keys=True),
            created_at=now,
        )
    )


def save_account(
    connection: Connection,
    account_id: str,
    plan_id: str,
    account: Account,
    payment_method: str,
    events: Sequence[TimelineEvent],
    now: datetime,
    notify_from: datetime | None = None,
) -> None:
    connection.execute(
        insert(accounts).values(
            id=account_id,
            plan_id=plan_id,
            subscribed_at=account.subscribed_at,
            start_at=account.start_at,
            committed_seats=account.committed_seats,
            timezone=account.timezone.key,
            payment_method=payment_method,
            status="active",
            credit_balance=0,
            created_at=now,
            notify_from=notify_from,
        )
    )
    if account.contacts:
        connection.execute(
            insert(contacts),
            [{"account_id": account_id, "email": email} for email in account.contacts],
        )
    if account.members:
        connection.execute(
            insert(members),
            [
                {
                    "account_id": account_id,
                    "member_id": m.id,
                    "manage_billing": m.manage_billing,
                    "email": m.email,
                }
                for m in account.members
            ],
        )
    append_events(connection, account_id, events, now, first_seq=1)
    connection.execute(
        insert(payment_methods).values(
            account_id=account_id, at=account.subscribed_at, method=payment_method, recorded_at=now
        )
    )


def next_event_seq(connection: Connection, account_id: str) -> int:
    """The recording number the account's next event gets."""
    last = connection.execute(
        select(func.max(timeline_events.c.seq)).where(timeline_events.c.account_id == account_id)
    ).scalar()
    return int(last or 0) + 1


def append_events(
    connection: Connection,
    account_id: str,
    events: Sequence[TimelineEvent],
    now: datetime,
    first_seq: int,
) -> None:
    rows = [
        {
            "account_id": account_id,
            "seq": first_seq + index,
            "recorded_at": now,
            **_event_row(event),
        }
        for index, event in enumerate(events)
    ]
    if rows:
        connection.execute(insert(timeline_events), rows)


def _event_row(event: TimelineEvent) -> dict[str, Any]:
    """The columns of one event: ``action`` says which of the others it uses."""
    row: dict[str, Any] = {
        "at": event.at,
        "member_id": None,
        "content": None,
        "credits": None,
        "ref_at": None,
        "collection": None,
    }
    if isinstance(event, MemberChange):
        return {**row, "action": event.action, "member_id": event.member}
    if isinstance(event, Cancel):
        return {**row, "action": "cancel"}
    if isinstance(event, Terminate):
        return {**row, "action": "terminate", "content": event.action}
    row["action"] = credit_action(event)
    if isinstance(event, BuyCredits):
        row["credits"] = event.credits
        row["collection"] = None if event.collection == CHECKOUT else event.collection
    elif isinstance(event, CreditsPaid):
        row["ref_at"] = event.purchased_at
    else:
        row.update(member_id=event.member, content=event.content)
        if isinstance(event, Assign):
            row["credits"] = event.credits
    return row


def _event(row: Any) -> TimelineEvent:
    action = row.action
    if action == "cancel":
        return Cancel(row.at)
    if action == "terminate":
        return Terminate(row.at, row.content)
    if action == "buy_credits":
        return BuyCredits(row.at, row.credits, row.collection or CHECKOUT)
    if action == "credits_paid":
        return CreditsPaid(row.at, row.ref_at)
    if action == "assign":
        return Assign(row.at, row.member_id, row.content, row.credits)
    if action == "start":
        return Start(row.at, row.member_id, row.content)
    if action == "unassign":
        return Unassign(row.at, row.member_id, row.content)
    return MemberChange(row.at, row.member_id, action)


def account_ids(connection: Connection) -> list[str]:
    return list(connection.scalars(select(accounts.c.id).order_by(accounts.c.id)))


def lock_account(connection: Connection, account_id: str) -> None:
    """Hold the account's row until the transaction ends, so that two workers billing the
    same account take turns (PostgreSQL; SQLite's writers are serialized already);
    :class:`UnknownAccount` if there is none."""
    query = select(accounts.c.id).where(accounts.c.id == account_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    if connection.execute(query).one_or_none() is None:
        raise UnknownAccount(f"no account {account_id!r}")


def lock_accounts(connection: Connection, account_ids: Sequence[str]) -> None:
    """Lock several accounts at once, in id order (the order every lock is taken in)."""
    if connection.dialect.name == "postgresql" and account_ids:
        connection.execute(
            select(accounts.c.id)
            .where(accounts.c.id.in_(list(account_ids)))
            .order_by(accounts.c.id)
            .with_for_update()
        ).all()


def mark_billing_error(connection: Connection, account_id: str, reason: str, at: datetime) -> None:
    """Remember why a billing run could not bill the account (cleared by the next success)."""
    connection.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(billing_error=reason[:2000], billing_error_at=at)
    )


def clear_billing_error(connection: Connection, account_id: str) -> None:
    connection.execute(
        update(accounts)
        .where(accounts.c.id == account_id, accounts.c.billing_error.is_not(None))
        .values(billing_error=None, billing_error_at=None)
    )


@dataclass(frozen=True)
class AccountRow:
    """An account as ``seatwise accounts`` lists it."""

    id: str
    plan_id: str
    status: str
    subscribed_at: datetime
    ended_at: datetime | None
    billing_error: str | None
    billing_error_at: datetime | None


def account_rows(connection: Connection, status: str | None = None) -> list[AccountRow]:
    """Every account (with ``status``: those in it; ``billing_error``: those marked), by id."""
    query = select(accounts).order_by(accounts.c.id)
    if status == "billing_error":
        query = query.where(accounts.c.billing_error.is_not(None))
    elif status is not None:
        query = query.where(accounts.c.status == status)
    return [
        AccountRow(
            row.id,
            row.plan_id,
            row.status,
            row.subscribed_at,
            row.ended_at,
            row.billing_error,
            row.billing_error_at,
        )
        for row in connection.execute(query)
    ]


def load_account(connection: Connection, account_id: str) -> StoredAccount:
    row = connection.execute(
        select(accounts, plans.c.definition)
        .join(plans, plans.c.id == accounts.c.plan_id)
        .where(accounts.c.id == account_id)
    ).one_or_none()
    if row is None:
        raise UnknownAccount(f"no account {account_id!r}")
    plan = parse_plan(json.loads(row.definition))
    emails = tuple(
        connection.scalars(
            select(contacts.c.email)
            .where(contacts.c.account_id == account_id)
            .order_by(contacts.c.email)
        )
    )
    people = tuple(
        Member(m.member_id, m.manage_billing, m.email)
        for m in connection.execute(
            select(members).where(members.c.account_id == account_id).order_by(members.c.member_id)
        )
    )
    events = [
        _event(row)
        for row in connection.execute(
            select(timeline_events)
            .where(timeline_events.c.account_id == account_id)
            # effective time first: an event reported late sorts where it happened
            .order_by(timeline_events.c.at, timeline_events.c.seq)
        )
    ]
    account = Account(
        subscribed_at=row.subscribed_at,
        committed_seats=row.committed_seats,
        start_at=row.start_at,
        timezone=ZoneInfo(row.timezone),
        contacts=emails,
        members=people,
    )
    return StoredAccount(
        account_id,
        plan,
        account,
        tuple(events),
        row.payment_method,
        row.status,
        row.credit_balance,
        row.notify_from,
    )


def issued_invoices(
    connection: Connection, account_id: str, drafts: bool = False
) -> list[StoredInvoice]:
    """The account's finalized invoices with their lines, in the order they were issued (with
    ``drafts``: its drafts only)."""
    status_filter = invoices.c.status == DRAFT if drafts else invoices.c.status != DRAFT
    heads = connection.execute(
        select(invoices)
        .where(invoices.c.account_id == account_id, status_filter)
        .order_by(invoices.c.id)
    ).all()
    return _with_lines(connection, heads)


def _with_lines(connection: Connection, heads: Sequence[Any]) -> list[StoredInvoice]:
    if not heads:
        return []
    by_invoice: dict[int, list[Line]] = {head.id: [] for head in heads}
    for row in connection.execute(
        select(invoice_lines)
        .where(invoice_lines.c.invoice_id.in_(list(by_invoice)))
        .order_by(invoice_lines.c.invoice_id, invoice_lines.c.position)
    ):
        by_invoice[row.invoice_id].append(_line(row))
    return [
        StoredInvoice(
            head.id,
            head.account_id,
            head.number,
            head.status,
            Invoice(
                head.kind,
                head.issued_at,
                head.due_at,
                Period(head.period_start, head.period_end),
                tuple(by_invoice[head.id]),
            ),
            head.currency,
        )
        for head in heads
    ]


def find_invoice(connection: Connection, number: str) -> StoredInvoice:
    """The finalized invoice with this number; :class:`UnknownInvoice` if there is none."""
    head = connection.execute(select(invoices).where(invoices.c.number == number)).one_or_none()
    if head is None:
        raise UnknownInvoice(f"no invoice numbered {number!r}")
    return _with_lines(connection, [head])[0]


def invoice_account_id(connection: Connection, number: str) -> str:
    """The account invoice ``number`` belongs to; :class:`UnknownInvoice` if none."""
    found = connection.execute(
        select(invoices.c.account_id).where(invoices.c.number == number)
    ).scalar()
    if found is None:
        raise UnknownInvoice(f"no invoice numbered {number!r}")
    return str(found)


def last_issued_at(connection: Connection, account_id: str) -> datetime | None:
    """When the account's latest finalized invoice was issued."""
    return connection.execute(
        select(func.max(invoices.c.issued_at)).where(
            invoices.c.account_id == account_id, invoices.c.status != DRAFT
        )
    ).scalar()


def latest_draft_issue(connection: Connection, account_id: str) -> datetime | None:
    """When the account's latest draft would be issued; None without drafts."""
    return connection.execute(
        select(func.max(invoices.c.issued_at)).where(
            invoices.c.account_id == account_id, invoices.c.status == DRAFT
        )
    ).scalar()


def next_numbers(connection: Connection, prefix: str, count: int) -> list[str]:
    """Take the next ``count`` numbers of a sequence (``INV-``, ``CN-``); inside the issuing
    transaction, so a rollback gives them back and numbers have no gaps."""
    if count == 0:
        return []
    taken = connection.execute(
        update(invoice_sequences)
        .where(invoice_sequences.c.prefix == prefix)
        .values(next_number=invoice_sequences.c.next_number + count)
        .returning(invoice_sequences.c.next_number)
    ).scalar()
    if taken is None:
        raise LookupError(f"no {prefix} number sequence: run `seatwise migrate` first")
    first = taken - count
    return [f"{prefix}{first + index:06d}" for index in range(count)]


@dataclass
class NewInvoice:
    """An invoice to store: ``number`` None for a draft. ``paid``: (instant, reason) when it
    was issued ``open`` and paid before it was stored (a charge of the same billing run)."""

    account_id: str
    currency_code: str
    number: str | None
    status: str
    invoice: Invoice
    paid: tuple[datetime, str] | None = None


def insert_invoices(connection: Connection, entries: Sequence[NewInvoice]) -> None:
    """Store invoices with their lines and their first status, by the database's bulk path."""
    if not entries:
        return
    ids = bulk.reserve_ids(connection, invoices, len(entries))
    pairs = list(zip(ids, entries, strict=True))
    explained: dict[int, str] = {}  # lines sharing one explanation (a price change's pair)

    def explanation_text(explanation: Explanation) -> str:
        text = explained.get(id(explanation))
        if text is None:
            text = explained[id(explanation)] = _explanation_json(explanation)
        return text

    bulk.insert_rows(
        connection,
        invoices,
        INVOICE_COLUMNS,
        [
            (
                invoice_id,
                entry.account_id,
                entry.number,
                entry.invoice.kind,
                entry.status,
                entry.currency_code,
                entry.invoice.period.start,
                entry.invoice.period.end,
                entry.invoice.issued_at,
                entry.invoice.due_at,
                entry.invoice.total,
            )
            for invoice_id, entry in pairs
        ],
    )
    bulk.insert_rows(
        connection,
        invoice_lines,
        LINE_COLUMNS,
        [
            (
                invoice_id,
                position,
                line.kind,
                line.description,
                line.quantity,
                line.unit_price,
                line.amount,
                line.period.start,
                line.period.end,
                explanation_text(line.explanation),
                line.corrects,
            )
            for invoice_id, entry in pairs
            for position, line in enumerate(entry.invoice.lines)
        ],
    )
    bulk.insert_rows(
        connection,
        invoice_status_changes,
        STATUS_COLUMNS,
        [
            *(
                (
                    invoice_id,
                    entry.invoice.issued_at,
                    None,
                    _first_status(entry),
                    _first_reason(entry),
                )
                for invoice_id, entry in pairs
            ),
            *(
                (invoice_id, entry.paid[0], OPEN, PAID, entry.paid[1])
                for invoice_id, entry in pairs
                if entry.paid is not None
            ),
        ],
    )


INVOICE_COLUMNS = (
    "id",
    "account_id",
    "number",
    "kind",
    "status",
    "currency",
    "period_start",
    "period_end",
    "issued_at",
    "due_at",
    "total",
)
LINE_COLUMNS = (
    "invoice_id",
    "position",
    "kind",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "period_start",
    "period_end",
    "explanation",
    "corrects",
)
STATUS_COLUMNS = ("invoice_id", "at", "from_status", "to_status", "reason")


def _first_status(entry: NewInvoice) -> str:
    return OPEN if entry.paid is not None else entry.status


def _first_reason(entry: NewInvoice) -> str:
    if entry.number is None:
        return "drafted by a billing run"
    if _first_status(entry) == PAID:
        return "issued; nothing to pay"
    return "issued"


def delete_drafts(connection: Connection, account_id: str) -> int:
    """Remove the account's drafts (they are recomputed, never kept); how many there were."""
    ids = list(
        connection.scalars(
            select(invoices.c.id).where(
                invoices.c.account_id == account_id, invoices.c.status == DRAFT
            )
        )
    )
    if ids:
        for table in (invoice_lines, invoice_status_changes):
            connection.execute(delete(table).where(table.c.invoice_id.in_(ids)))
        connection.execute(delete(invoices).where(invoices.c.id.in_(ids)))
    return len(ids)


def change_status(
    connection: Connection, invoice_id: int, old: str, new: str, at: datetime, reason: str
) -> None:
    """Move an invoice from ``old`` to ``new`` and record it; the caller checked the move."""
    moved = connection.execute(
        update(invoices)
        .where(invoices.c.id == invoice_id, invoices.c.status == old)
        .values(status=new)
    ).rowcount
    if moved != 1:
        raise LookupError(f"invoice {invoice_id} is no longer {old}")
    connection.execute(
        insert(invoice_status_changes).values(
            invoice_id=invoice_id, at=at, from_status=old, to_status=new, reason=reason
        )
    )


@dataclass(frozen=True)
class StatusChange:
    at: datetime
    from_status: str | None
    to_status: str
    reason: str


def status_history(connection: Connection, invoice_id: int) -> list[StatusChange]:
    return [
        StatusChange(row.at, row.from_status, row.to_status, row.reason)
        for row in connection.execute(
            select(invoice_status_changes)
            .where(invoice_status_changes.c.invoice_id == invoice_id)
            .order_by(invoice_status_changes.c.id)
        )
    ]


def status_histories(
    connection: Connection, invoice_ids: Sequence[int]
) -> dict[int, list[StatusChange]]:
    """The status histories of several invoices, by invoice id."""
    found: dict[int, list[StatusChange]] = {}
    if invoice_ids:
        for row in connection.execute(
            select(invoice_status_changes)
            .where(invoice_status_changes.c.invoice_id.in_(list(invoice_ids)))
            .order_by(invoice_status_changes.c.id)
        ):
            found.setdefault(row.invoice_id, []).append(
                StatusChange(row.at, row.from_status, row.to_status, row.reason)
            )
    return found


@dataclass(frozen=True)
class StoredCreditNote:
    number: str
    invoice_number: str
    amount: int
    reason: str
    issued_at: datetime


def credit_notes_of(connection: Connection, invoice_id: int) -> list[StoredCreditNote]:
    return [
        StoredCreditNote(row.number, row.invoice_number, row.amount, row.reason, row.issued_at)
        for row in connection.execute(
            select(credit_notes, invoices.c.number.label("invoice_number"))
            .join(invoices, invoices.c.id == credit_notes.c.invoice_id)
            .where(credit_notes.c.invoice_id == invoice_id)
            .order_by(credit_notes.c.id)
        )
    ]


def credit_notes_by_invoice(
    connection: Connection, invoice_ids: Sequence[int]
) -> dict[int, list[StoredCreditNote]]:
    """The credit notes of several invoices, by invoice id."""
    found: dict[int, list[StoredCreditNote]] = {}
    if invoice_ids:
        for row in connection.execute(
            select(credit_notes, invoices.c.number.label("invoice_number"))
            .join(invoices, invoices.c.id == credit_notes.c.invoice_id)
            .where(credit_notes.c.invoice_id.in_(list(invoice_ids)))
            .order_by(credit_notes.c.id)
        ):
            found.setdefault(row.invoice_id, []).append(
                StoredCreditNote(
                    row.number, row.invoice_number, row.amount, row.reason, row.issued_at
                )
            )
    return found


def insert_credit_note(
    connection: Connection,
    invoice_id: int,
    number: str,
    amount: int,
    reason: str,
    at: datetime,
) -> None:
    connection.execute(
        insert(credit_notes).values(
            number=number, invoice_id=invoice_id, amount=amount, reason=reason, issued_at=at
        )
    )


def add_to_credit_balance(connection: Connection, account_id: str, amount: int) -> None:
    connection.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(credit_balance=accounts.c.credit_balance + amount)
    )


def add_member(connection: Connection, account_id: str, member: Member) -> None:
    connection.execute(
        insert(members).values(
            account_id=account_id,
            member_id=member.id,
            manage_billing=member.manage_billing,
            email=member.email,
        )
    )


def update_account_after_billing(
    connection: Connection,
    account_id: str,
    status: str,
    credit_balance: int,
    ended_at: datetime | None = None,
) -> None:
    connection.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(status=status, credit_balance=credit_balance, ended_at=ended_at)
    )
    clear_billing_error(connection, account_id)


def _explanation_json(explanation: Explanation) -> str:
    return orjson.dumps(
        {
            "summary": explanation.summary,
            "members": explanation.members,
            "changes": [(iso(c.at), c.member, c.action) for c in explanation.changes],
        }
    ).decode()


def _line(row: Any) -> Line:
    data = orjson.loads(row.explanation)
    changes = tuple(
        MemberChange(datetime.fromisoformat(at), member, action)
        for at, member, action in data["changes"]
    )
    return Line(
        kind=row.kind,
        description=row.description,
        quantity=row.quantity,
        unit_price=row.unit_price,
        amount=row.amount,
        period=Period(row.period_start, row.period_end),
        explanation=Explanation(data["summary"], tuple(data["members"]), changes),
        corrects=row.corrects,
    )


# -- the credit ledger -----------------------------------------------------------------------


def ledger(connection: Connection, account_id: str) -> list[CreditEntry]:
    """The account's credit ledger, in order."""
    return [
        CreditEntry(
            row.at,
            row.kind,
            row.credits,
            row.balance_change,
            row.assigned_change,
            row.member_id,
            row.content,
            row.note,
        )
        for row in connection.execute(
            select(credit_entries)
            .where(credit_entries.c.account_id == account_id)
            .order_by(credit_entries.c.position)
        )
    ]


def append_ledger(
    connection: Connection,
    account_id: str,
    entries: Sequence[CreditEntry],
    first_position: int,
    now: datetime,
) -> None:
    """Append entries to the ledger; the unique (account, position) refuses a second writer."""
    if entries:
        connection.execute(
            insert(credit_entries),
            [
                {
                    "account_id": account_id,
                    "position": first_position + index,
                    "at": entry.at,
                    "kind": entry.kind,
                    "credits": entry.credits,
                    "balance_change": entry.balance_change,
                    "assigned_change": entry.assigned_change,
                    "member_id": entry.member,
                    "content": entry.content,
                    "note": entry.note,
                    "recorded_at": now,
                }
                for index, entry in enumerate(entries)
            ],
        )
