"""The credit ledger: the queries, over the caller's connection (nothing here commits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select

from seatwise.core.credits import (
    CreditEntry,
)
from seatwise.store.tables import (
    credit_entries,
)


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
