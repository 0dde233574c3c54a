"""The store's queries for what is sent: the outbox of emails and webhooks, its delivery log
and leases, and the webhook endpoints. Nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, insert, or_, select, update

from seatwise.core.limits import storable_id
from seatwise.store import bulk
from seatwise.store.tables import deliveries, invoices, outbox, webhook_endpoints

# -- the outbox -----------------------------------------------------------------------------------

OUTBOX_COLUMNS = (
    "account_id",
    "at",
    "kind",
    "channel",
    "recipients",
    "invoice_number",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)
PENDING, DELIVERED, FAILED, SKIPPED = "pending", "delivered", "failed", "skipped"


@dataclass(frozen=True)
class Message:
    """A message to send: what the outbox holds."""

    account_id: str
    at: datetime
    kind: str
    channel: str
    recipients: tuple[str, ...]
    invoice: str | None
    payload: dict[str, Any]


def enqueue(connection: Connection, messages: Sequence[Message], now: datetime) -> None:
    """Queue messages, in the caller's transaction: they exist if and only if it commits."""
    bulk.insert_rows(
        connection,
        outbox,
        OUTBOX_COLUMNS,
        [
            (
                m.account_id,
                m.at,
                m.kind,
                m.channel,
                orjson.dumps(list(m.recipients)).decode(),
                m.invoice,
                orjson.dumps(m.payload).decode(),
                PENDING,
                0,
                now,
                now,
            )
            for m in messages
        ],
    )


@dataclass(frozen=True)
class OutboxRow:
    id: int
    message: Message
    status: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None


def _outbox_row(row: Any) -> OutboxRow:
    return OutboxRow(
        row.id,
        Message(
            row.account_id,
            row.at,
            row.kind,
            row.channel,
            tuple(orjson.loads(row.recipients)),
            row.invoice_number,
            orjson.loads(row.payload),
        ),
        row.status,
        row.attempts,
        row.next_attempt_at,
        row.delivered_at,
        row.last_error,
    )


def told_alerts(connection: Connection, account_id: str) -> set[datetime]:
    """The instants of the credit alerts already queued for the account."""
    return set(
        connection.scalars(
            select(outbox.c.at).where(
                outbox.c.account_id == account_id, outbox.c.kind == "credit_alert"
            )
        )
    )


def outbox_of(connection: Connection, account_id: str | None = None) -> list[OutboxRow]:
    """The outbox (of one account), oldest first."""
    query = select(outbox).order_by(outbox.c.id)
    if account_id is not None:
        query = query.where(outbox.c.account_id == account_id)
    return [_outbox_row(row) for row in connection.execute(query)]


def webhook_messages(
    connection: Connection, endpoint_id: int | None, after: int | None, limit: int
) -> list[OutboxRow]:
    """Webhook messages (to one endpoint), oldest first, after outbox id ``after``."""
    query = select(outbox).where(outbox.c.channel == "webhook").order_by(outbox.c.id).limit(limit)
    if after is not None:
        query = query.where(outbox.c.id > after)
    rows = [_outbox_row(row) for row in connection.execute(query)]
    if endpoint_id is not None:
        rows = [row for row in rows if int(row.message.payload["endpoint"]) == endpoint_id]
    return rows


def claim(
    connection: Connection,
    now: datetime,
    lease_until: datetime,
    limit: int,
    channels: Sequence[str] = ("email", "webhook"),
) -> list[OutboxRow]:
    """Take up to ``limit`` messages due at ``now`` that no live lease holds, and lease them to
    the caller until ``lease_until``. A worker that dies leaves its lease to run out; the
    message is then taken again (delivery is at least once; webhooks carry a stable id)."""
    due = and_(
        outbox.c.status == PENDING,
        outbox.c.channel.in_(list(channels)),
        outbox.c.next_attempt_at <= now,
        or_(outbox.c.locked_until.is_(None), outbox.c.locked_until <= now),
    )
    query = select(outbox).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [_outbox_row(row) for row in connection.execute(query)]
    if rows:
        connection.execute(
            update(outbox)
            .where(outbox.c.id.in_([row.id for row in rows]))
            .values(locked_until=lease_until)
        )
    return rows


def record_delivery(
    connection: Connection,
    row: OutboxRow,
    at: datetime,
    succeeded: bool,
    detail: str,
    retry_at: datetime | None,
) -> None:
    """Log one delivery attempt and move the message on: delivered, to be retried at
    ``retry_at``, or failed for good (``retry_at`` None after a failure)."""
    attempt = row.attempts + 1
    connection.execute(
        insert(deliveries).values(
            outbox_id=row.id, attempt=attempt, at=at, succeeded=succeeded, detail=detail
        )
    )
    if succeeded:
        values: dict[str, Any] = {"status": DELIVERED, "delivered_at": at, "last_error": None}
    elif retry_at is not None:
        values = {"next_attempt_at": retry_at, "last_error": detail}
    else:
        values = {"status": FAILED, "last_error": detail}
    connection.execute(
        update(outbox)
        .where(outbox.c.id == row.id)
        .values(attempts=attempt, locked_until=None, **values)
    )


def skip_delivery(connection: Connection, row: OutboxRow, at: datetime, why: str) -> None:
    """A message that is no longer to be sent (a reminder of an invoice paid since): logged,
    and never sent."""
    connection.execute(
        insert(deliveries).values(
            outbox_id=row.id, attempt=row.attempts + 1, at=at, succeeded=False, detail=why
        )
    )
    connection.execute(
        update(outbox)
        .where(outbox.c.id == row.id)
        .values(status=SKIPPED, locked_until=None, last_error=why)
    )


def invoice_status(connection: Connection, number: str) -> str | None:
    return connection.execute(select(invoices.c.status).where(invoices.c.number == number)).scalar()


@dataclass(frozen=True)
class Delivery:
    outbox_id: int
    attempt: int
    at: datetime
    succeeded: bool
    detail: str


def delivery_log(connection: Connection, outbox_id: int | None = None) -> list[Delivery]:
    query = select(deliveries).order_by(deliveries.c.id)
    if outbox_id is not None:
        query = query.where(deliveries.c.outbox_id == outbox_id)
    return [
        Delivery(row.outbox_id, row.attempt, row.at, row.succeeded, row.detail)
        for row in connection.execute(query)
    ]


# -- webhook endpoints ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    id: int
    url: str
    secret: str


def add_endpoint(connection: Connection, url: str, secret: str, now: datetime) -> int:
    return int(
        connection.execute(
            insert(webhook_endpoints)
            .values(url=url, secret=secret, active=True, created_at=now)
            .returning(webhook_endpoints.c.id)
        ).scalar_one()
    )


def _change_active_endpoint(connection: Connection, endpoint_id: int, **values: Any) -> bool:
    if not storable_id(endpoint_id):  # no row has it
        return False
    return bool(
        connection.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.active.is_(True))
            .values(**values)
        ).rowcount
    )


def remove_endpoint(connection: Connection, endpoint_id: int) -> bool:
    """Stop sending to an endpoint (its messages not sent yet are skipped); False if there is
    no such active endpoint."""
    return _change_active_endpoint(connection, endpoint_id, active=False)


def rotate_secret(connection: Connection, endpoint_id: int, secret: str) -> bool:
    """Sign with ``secret`` from now on; False if there is no such active endpoint."""
    return _change_active_endpoint(connection, endpoint_id, secret=secret)


def endpoints(connection: Connection, active_only: bool = True) -> list[Endpoint]:
    """The (active) webhook endpoints, oldest first."""
    query = select(webhook_endpoints).order_by(webhook_endpoints.c.id)
    if active_only:
        query = query.where(webhook_endpoints.c.active.is_(True))
    return [Endpoint(row.id, row.url, row.secret) for row in connection.execute(query)]
