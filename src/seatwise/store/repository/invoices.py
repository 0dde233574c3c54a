"""Invoices and their lines, as issued (or drafted), and the gapless number sequences: the
queries, over the caller's connection (nothing here commits). What happens to an invoice after
its issue — status changes, credit notes — is :mod:`.invoice_history`'s."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Select, and_, delete, func, or_, select, update

from seatwise.core.errors import SeatwiseError
from seatwise.core.invoice_states import DRAFT, OPEN
from seatwise.core.invoicing import Explanation, Invoice, Line
from seatwise.core.periods import Period
from seatwise.core.seat_timeline import MemberChange
from seatwise.store import bulk
from seatwise.store.repository.scope import in_scope, scoped_account
from seatwise.store.tables import (
    billing_checkpoints,
    invoice_lines,
    invoice_sequences,
    invoice_status_changes,
    invoices,
)

INVOICE_PREFIX = "INV-"
CREDIT_NOTE_PREFIX = "CN-"


class UnknownInvoice(SeatwiseError):
    """No invoice has this number."""


@dataclass(frozen=True)
class StoredInvoice:
    """An invoice as stored; ``number`` is None while it is a draft."""

    id: int
    account_id: str
    number: str | None
    status: str
    invoice: Invoice
    currency_code: str


def issued_invoices(
    connection: Connection, account_id: str, drafts: bool = False
) -> list[StoredInvoice]:
    """The account's finalized invoices with their lines, in the order they were issued (with
    ``drafts``: its drafts only)."""
    return issued_invoices_of(connection, [account_id], drafts).get(account_id, [])


def issued_invoices_of(
    connection: Connection,
    account_ids: Sequence[str],
    drafts: bool = False,
    after_checkpoints: Collection[str] = (),
) -> dict[str, list[StoredInvoice]]:
    """:func:`issued_invoices` of several accounts, in two queries (those in scope). For the
    accounts in ``after_checkpoints`` (their checkpoints read in this transaction), only what
    a billing run going on from the checkpoint needs (:mod:`seatwise.core.checkpoint`): the
    invoices issued after it, and the open ones (collection's)."""
    wanted = [account_id for account_id in dict.fromkeys(account_ids) if in_scope(account_id)]
    found: dict[str, list[StoredInvoice]] = {account_id: [] for account_id in wanted}
    if not wanted:
        return found
    which = invoices.c.status == DRAFT if drafts else invoices.c.status != DRAFT
    if after_checkpoints:
        checkpoint_at = (
            select(billing_checkpoints.c.at)
            .where(billing_checkpoints.c.account_id == invoices.c.account_id)
            .scalar_subquery()
        )
        which = and_(
            which,
            or_(
                invoices.c.account_id.not_in(list(after_checkpoints)),
                checkpoint_at.is_(None),
                invoices.c.issued_at > checkpoint_at,
                invoices.c.status == OPEN,
            ),
        )
    form = connection.dialect.name
    heads = connection.execute(
        bulk.of_each(form, select(invoices).where(which), invoices.c.account_id, ("id",)),
        {"account_ids": wanted},
    ).all()
    ids = select(invoices.c.id).where(which, invoices.c.account_id.in_(wanted))
    for stored in _with_lines(connection, heads, ids):
        found[stored.account_id].append(stored)
    return found


@dataclass(frozen=True, slots=True)
class InvoiceSum:
    """An issued invoice in three numbers: when, its total, and the sum of its lines of the
    given kinds (what a backtest compares, read without loading a line)."""

    issued_at: datetime
    total: int
    of_kinds: int


def invoice_sums(connection: Connection, account_id: str, kinds: Sequence[str]) -> list[InvoiceSum]:
    """The account's finalized invoices, in issue order, summed by the database."""
    if not in_scope(account_id):
        return []
    of_kinds = (  # per invoice, by its lines' primary key (no join the planner could scan)
        select(func.coalesce(func.sum(invoice_lines.c.amount), 0))
        .where(invoice_lines.c.invoice_id == invoices.c.id, invoice_lines.c.kind.in_(list(kinds)))
        .scalar_subquery()
    )
    rows = connection.execute(
        select(invoices.c.issued_at, invoices.c.total, of_kinds)
        .where(invoices.c.account_id == account_id, invoices.c.status != DRAFT)
        .order_by(invoices.c.id)
    )
    return [InvoiceSum(row[0], int(row[1]), int(row[2])) for row in rows]


@dataclass(frozen=True)
class InvoiceFilter:
    """Which invoices a list shows: one account's, in a status, of a kind, issued in
    ``[issued_from, issued_to)``; drafts only with ``status="draft"``."""

    account_id: str | None = None
    status: str | None = None
    kind: str | None = None
    issued_from: datetime | None = None
    issued_to: datetime | None = None


def public_id(row: Any) -> str:
    """How an invoice is named outside: its number, or ``draft_ID`` while a draft."""
    return row.number if row.number is not None else f"draft_{row.id}"


def invoice_row_id(connection: Connection, public: str) -> int | None:
    """The row id of the invoice named ``public`` (a number or ``draft_ID``), in scope."""
    if public.startswith("draft_") and public[6:].isdigit():
        query = select(invoices.c.id).where(invoices.c.id == int(public[6:]))
    else:
        query = select(invoices.c.id).where(invoices.c.number == public)
    found = connection.execute(_scoped(query)).scalar()
    return None if found is None else int(found)


def invoice_page(
    connection: Connection,
    which: InvoiceFilter,
    after: str | None,
    limit: int,
    newest_first: bool = False,
) -> list[StoredInvoice]:
    """Invoices in issue order (row id), after the invoice named ``after``: keyset pages that
    stay stable while invoices are added. ``newest_first``: in the reverse order, ``after``
    then being the last one of the previous page."""
    order = invoices.c.id.desc() if newest_first else invoices.c.id
    query = select(invoices).order_by(order).limit(limit)
    if which.status == DRAFT:
        query = query.where(invoices.c.status == DRAFT)
    else:
        query = query.where(invoices.c.status != DRAFT)
        if which.status is not None:
            query = query.where(invoices.c.status == which.status)
    if which.account_id is not None:
        query = query.where(invoices.c.account_id == which.account_id)
    if which.kind is not None:
        query = query.where(invoices.c.kind == which.kind)
    if which.issued_from is not None:
        query = query.where(invoices.c.issued_at >= which.issued_from)
    if which.issued_to is not None:
        query = query.where(invoices.c.issued_at < which.issued_to)
    if after is not None:
        row_id = invoice_row_id(connection, after)
        if row_id is None:
            raise UnknownInvoice(f"starting_after: no invoice {after!r}")
        query = query.where(invoices.c.id < row_id if newest_first else invoices.c.id > row_id)
    return _with_lines(connection, connection.execute(_scoped(query)).all())


def draft_by_id(connection: Connection, public: str) -> StoredInvoice:
    """The draft named ``draft_ID`` (in scope); :class:`UnknownInvoice` otherwise."""
    row_id = invoice_row_id(connection, public) if public.startswith("draft_") else None
    head = None
    if row_id is not None:
        head = connection.execute(
            select(invoices).where(invoices.c.id == row_id, invoices.c.status == DRAFT)
        ).one_or_none()
    if head is None:
        raise UnknownInvoice(f"no draft {public!r}")
    return _with_lines(connection, [head])[0]


def _with_lines(
    connection: Connection, heads: Sequence[Any], ids: Select[Any] | None = None
) -> list[StoredInvoice]:
    """The invoices with their lines; ``ids``: a query of the heads' ids, which SQLite is
    given rather than a list of them, for many (its statements take at most 32,766 values).
    PostgreSQL looks each invoice's lines up by its id, the ids one array
    (:func:`~seatwise.store.bulk.of_each`)."""
    if not heads:
        return []
    by_invoice: dict[int, list[Line]] = {head.id: [] for head in heads}
    if connection.dialect.name == "postgresql" or ids is None:
        lines = bulk.of_each(
            connection.dialect.name,
            select(invoice_lines),
            invoice_lines.c.invoice_id,
            ("invoice_id", "position"),
            keys="invoice_ids",
        )
        rows = connection.execute(lines, {"invoice_ids": list(by_invoice)})
    else:
        rows = connection.execute(
            select(invoice_lines)
            .where(invoice_lines.c.invoice_id.in_(ids))
            .order_by(invoice_lines.c.invoice_id, invoice_lines.c.position)
        )
    for row in rows:
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
    query = select(invoices).where(invoices.c.number == number)
    head = connection.execute(_scoped(query)).one_or_none()
    if head is None:
        raise UnknownInvoice(f"no invoice numbered {number!r}")
    return _with_lines(connection, [head])[0]


def _scoped(query: Select[Any]) -> Select[Any]:
    """An invoice query limited to the account scope's account, if any."""
    scoped = scoped_account()
    return query if scoped is None else query.where(invoices.c.account_id == scoped)


def invoice_account_id(connection: Connection, number: str) -> str:
    """The account invoice ``number`` belongs to; :class:`UnknownInvoice` if none."""
    found = connection.execute(
        _scoped(select(invoices.c.account_id).where(invoices.c.number == number))
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


def invoice_keys(connection: Connection, account_id: str) -> set[tuple[str, datetime, datetime]]:
    """The key (kind, period start, period end: :attr:`Invoice.key`) of every invoice of the
    account, drafts included, in one query without their lines."""
    if not in_scope(account_id):
        return set()
    rows = connection.execute(
        select(invoices.c.kind, invoices.c.period_start, invoices.c.period_end).where(
            invoices.c.account_id == account_id
        )
    )
    return {(row.kind, row.period_start, row.period_end) for row in rows}


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


def delete_drafts(connection: Connection, account_id: str) -> int:
    """Remove the account's drafts (they are recomputed, never kept); how many there were."""
    return delete_drafts_of(connection, [account_id])


def delete_drafts_of(connection: Connection, account_ids: Sequence[str]) -> int:
    """:func:`delete_drafts` of several accounts at once."""
    drafts = select(invoices.c.id).where(invoices.c.status == DRAFT)
    query = bulk.of_each(connection.dialect.name, drafts, invoices.c.account_id)
    ids = list(connection.scalars(query, {"account_ids": list(account_ids)}))
    if ids:
        for table in (invoice_lines, invoice_status_changes):
            connection.execute(delete(table).where(table.c.invoice_id.in_(ids)))
        connection.execute(delete(invoices).where(invoices.c.id.in_(ids)))
    return len(ids)


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
