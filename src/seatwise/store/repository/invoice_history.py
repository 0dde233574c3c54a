"""What happens to an invoice after its issue: its status changes (each recorded with its
instant and reason) and its credit notes. Over the caller's connection; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from seatwise.store.tables import accounts, credit_notes, invoice_status_changes, invoices


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
    owner = select(invoices.c.account_id).where(invoices.c.id == invoice_id).scalar_subquery()
    connection.execute(  # collection changes with it: what is due is recomputed
        update(accounts).where(accounts.c.id == owner).values(next_due_at=None)
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
