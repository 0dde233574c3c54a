"""Storing what a billing run (or a use case) issues: invoices with their lines and first
status, in a few bulk statements whatever their count. Over the caller's connection; nothing
here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import Connection

from seatwise.core.invoice_states import OPEN, PAID
from seatwise.core.invoicing import Explanation, Invoice
from seatwise.core.periods import iso
from seatwise.store import bulk
from seatwise.store.tables import invoice_lines, invoice_status_changes, invoices


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


def _explanation_json(explanation: Explanation) -> str:
    # an instant in UTC is written by orjson as iso() writes it (…Z, microseconds when there
    # are any): no text made for it first
    return orjson.dumps(
        {
            "summary": explanation.summary,
            "members": explanation.members,
            "changes": [
                (c.at if c.at.tzinfo is UTC else iso(c.at), c.member, c.action)
                for c in explanation.changes
            ],
        },
        option=orjson.OPT_UTC_Z,
    ).decode()
