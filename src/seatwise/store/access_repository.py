"""The store's queries for access and safe retries: API keys, account sessions, idempotency
keys, and the vendor's own ids of the events it reports. Nothing here commits."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Select, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from seatwise.core.limits import storable_id
from seatwise.store import bulk, driver
from seatwise.store.tables import account_sessions, api_keys, event_ids, idempotency_keys

# -- API keys -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredKey:
    id: int
    name: str
    scope: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def _key(row: Any) -> StoredKey:
    return StoredKey(row.id, row.name, row.scope, row.prefix, row.created_at, row.revoked_at)


def add_key(
    connection: Connection, name: str, scope: str, prefix: str, secret_hash: str, now: datetime
) -> int:
    return int(
        connection.execute(
            insert(api_keys)
            .values(name=name, scope=scope, prefix=prefix, secret_hash=secret_hash, created_at=now)
            .returning(api_keys.c.id)
        ).scalar_one()
    )


def key_by_hash(connection: Connection, secret_hash: str) -> StoredKey | None:
    row = connection.execute(
        select(api_keys).where(api_keys.c.secret_hash == secret_hash)
    ).one_or_none()
    return None if row is None else _key(row)


def keys(connection: Connection) -> list[StoredKey]:
    return [_key(row) for row in connection.execute(select(api_keys).order_by(api_keys.c.id))]


def revoke_key(connection: Connection, key_id: int, now: datetime) -> bool:
    """Revoke a key; False if there is no such key not revoked already."""
    if not storable_id(key_id):  # no row has it
        return False
    return bool(
        connection.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
    )


# -- account sessions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSession:
    id: int
    account_id: str
    member_id: str
    expires_at: datetime
    ended_at: datetime | None = None  # logged out


def add_session(
    connection: Connection,
    token_hash: str,
    account_id: str,
    member_id: str,
    now: datetime,
    expires_at: datetime,
) -> int:
    return int(
        connection.execute(
            insert(account_sessions)
            .values(
                token_hash=token_hash,
                account_id=account_id,
                member_id=member_id,
                created_at=now,
                expires_at=expires_at,
            )
            .returning(account_sessions.c.id)
        ).scalar_one()
    )


def session_by_hash(connection: Connection, token_hash: str) -> StoredSession | None:
    row = connection.execute(
        select(account_sessions).where(account_sessions.c.token_hash == token_hash)
    ).one_or_none()
    if row is None:
        return None
    return StoredSession(row.id, row.account_id, row.member_id, row.expires_at, row.ended_at)


# -- idempotency keys -----------------------------------------------------------------------------

IN_FLIGHT, DONE = "in_flight", "done"


@dataclass(frozen=True)
class StoredIdempotency:
    request_hash: str
    status: str
    response_status: int | None
    response_body: bytes | None
    locked_until: datetime | None


def claim_idempotency(
    connection: Connection,
    caller: str,
    key: str,
    request_hash: str,
    now: datetime,
    lease_until: datetime,
) -> StoredIdempotency | None:
    """Claim ``key`` for ``caller``: None when the claim is new (the request goes ahead), else
    the record found. An in-flight claim whose lease ran out (a crashed request) is taken
    over."""
    taken = connection.execute(
        update(idempotency_keys)
        .where(
            idempotency_keys.c.caller == caller,
            idempotency_keys.c.key == key,
            idempotency_keys.c.status == IN_FLIGHT,
            idempotency_keys.c.locked_until <= now,
            idempotency_keys.c.request_hash == request_hash,
        )
        .values(locked_until=lease_until)
    ).rowcount
    if taken:
        return None
    found = find_idempotency(connection, caller, key)
    if found is not None:
        return found
    try:
        with connection.begin_nested():
            connection.execute(
                insert(idempotency_keys).values(
                    caller=caller,
                    key=key,
                    request_hash=request_hash,
                    status=IN_FLIGHT,
                    created_at=now,
                    locked_until=lease_until,
                )
            )
    except IntegrityError:  # another request claimed it between our look and our insert
        return find_idempotency(connection, caller, key)
    return None


def find_idempotency(connection: Connection, caller: str, key: str) -> StoredIdempotency | None:
    row = connection.execute(
        select(idempotency_keys).where(
            idempotency_keys.c.caller == caller, idempotency_keys.c.key == key
        )
    ).one_or_none()
    if row is None:
        return None
    body = None if row.response_body is None else row.response_body.encode()
    return StoredIdempotency(
        row.request_hash, row.status, row.response_status, body, row.locked_until
    )


def finish_idempotency(
    connection: Connection, caller: str, key: str, status: int, body: bytes
) -> None:
    """Store the response, in the transaction of the write it answers."""
    connection.execute(
        update(idempotency_keys)
        .where(idempotency_keys.c.caller == caller, idempotency_keys.c.key == key)
        .values(status=DONE, response_status=status, response_body=body.decode(), locked_until=None)
    )


def release_idempotency(connection: Connection, caller: str, key: str) -> None:
    """A request that failed before it wrote anything gives its key back."""
    connection.execute(
        delete(idempotency_keys).where(
            idempotency_keys.c.caller == caller,
            idempotency_keys.c.key == key,
            idempotency_keys.c.status == IN_FLIGHT,
        )
    )


def prune_idempotency(connection: Connection, before: datetime) -> int:
    """Forget keys created before ``before`` (kept at least 24 hours)."""
    return int(
        connection.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.created_at < before,
                or_(
                    idempotency_keys.c.status == DONE,
                    and_(
                        idempotency_keys.c.status == IN_FLIGHT,
                        idempotency_keys.c.locked_until < before,
                    ),
                ),
            )
        ).rowcount
    )


# -- the vendor's event ids -----------------------------------------------------------------------


@functools.cache
def _event_results_query(form: str) -> Select[Any]:
    return bulk.select_pairs(
        form,
        (event_ids.c.account_id, event_ids.c.external_id, event_ids.c.result),
        (event_ids.c.account_id, event_ids.c.external_id),
    )


def event_results_later(
    connection: Connection, reported: Collection[tuple[str, str]]
) -> Callable[[], dict[str, dict[str, dict[str, Any]]]]:
    """The first answers given to events the vendor reported with these ids ((account, id)
    pairs), by account and id: the statement sent now
    (:func:`~seatwise.store.driver.rows_later`), the answers when called for."""
    with driver.lookups_planned(connection, len(reported)):
        sent = bulk.rows_among_later(connection, _event_results_query, reported)

    def found() -> dict[str, dict[str, dict[str, Any]]]:
        answers: dict[str, dict[str, dict[str, Any]]] = {}
        for row in sent():
            if (row.account_id, row.external_id) in reported:
                answers.setdefault(row.account_id, {})[row.external_id] = orjson.loads(row.result)
        return answers

    return found


def remember_event_results(
    connection: Connection, results: list[tuple[str, str, dict[str, Any]]], now: datetime
) -> None:
    """Keep the answers to events reported with the vendor's ids: (account, id, answer)."""
    bulk.insert_rows(
        connection,
        event_ids,
        ("account_id", "external_id", "result", "created_at"),
        [
            (account_id, external_id, orjson.dumps(result, option=orjson.OPT_UTC_Z).decode(), now)
            for account_id, external_id, result in results
        ],
    )
