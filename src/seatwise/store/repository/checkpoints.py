"""Billing checkpoints (:mod:`seatwise.core.checkpoint`): one per account, the latest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, select

from seatwise.core.checkpoint import Checkpoint
from seatwise.store import bulk
from seatwise.store.tables import billing_checkpoints


def checkpoints_of(connection: Connection, account_ids: Sequence[str]) -> dict[str, Checkpoint]:
    """The accounts' checkpoints (those that have one), in one query."""
    if not account_ids:
        return {}
    table = billing_checkpoints
    query = bulk.of_each(connection.dialect.name, select(table), table.c.account_id)
    rows = connection.execute(query, {"account_ids": list(account_ids)})
    return {
        row.account_id: Checkpoint(row.at, row.events, row.fingerprint, row.state, row.last_seq)
        for row in rows
    }


def save_checkpoints(
    connection: Connection, checkpoints: Sequence[tuple[str, Checkpoint | None]], now: datetime
) -> None:
    """Replace the accounts' checkpoints (None: the account has none any more)."""
    if not checkpoints:
        return
    table = billing_checkpoints
    ids = [account_id for account_id, _ in checkpoints]
    connection.execute(delete(table).where(table.c.account_id.in_(ids)))
    bulk.insert_rows(  # by the database's bulk path, as the run's invoices are
        connection,
        table,
        _COLUMNS,
        [
            (account_id, checkpoint.at, checkpoint.events, checkpoint.last_seq,
             checkpoint.fingerprint, checkpoint.state, now)
            for account_id, checkpoint in checkpoints
            if checkpoint is not None
        ],
    )  # fmt: skip


_COLUMNS = ("account_id", "at", "events", "last_seq", "fingerprint", "state", "saved_at")
