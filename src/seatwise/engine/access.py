"""Who may call the API: the vendor's secret keys, and short sessions of a customer's billing
admin (SPEC 10, 11).

A **key** is ``sw_live_`` followed by 40 random hex digits and a 6-digit checksum (CRC-32 of
the random part), so a mistyped key is refused before any lookup. Only its SHA-256 is stored;
the secret is shown once, when it is made. Its scope is ``read`` (reads only), ``write``
(reads and writes) or ``admin`` (everything, including sessions and billing runs).

An **account session** is for one member of one account who has the Manage Billing
permission: ``sw_sess_`` and a random token, valid :data:`SESSION_MINUTES` minutes. It reads
and writes that account's billing only; the API runs its requests inside the store's account
scope, so every other account is unknown to it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from seatwise.core.errors import SeatwiseError
from seatwise.core.limits import check_text
from seatwise.core.seat_timeline import ACTIVE, SeatTimeline
from seatwise.engine.clock import Clock
from seatwise.store import access_repository as access
from seatwise.store import repository
from seatwise.store.access_repository import StoredKey
from seatwise.store.database import read_connection, write_transaction

SCOPES = ("read", "write", "admin")
KEY_PREFIX, SESSION_PREFIX = "sw_live_", "sw_sess_"
SESSION_MINUTES = 60
_KEY = re.compile(r"^sw_live_([0-9a-f]{40})([0-9a-f]{6})\Z")
_SESSION = re.compile(r"^sw_sess_[0-9A-Za-z_-]{43}\Z")


class AccessDenied(SeatwiseError):
    """No valid credentials (HTTP 401), or credentials that may not do this (403)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class AccessRefused(SeatwiseError):
    """A key or session that cannot be made; nothing was stored."""


@dataclass(frozen=True)
class Caller:
    """Who is calling: a vendor key (``scope``), or an account session (``account_id``,
    ``member_id``). ``id`` names it for idempotency keys and logs."""

    id: str
    scope: str
    account_id: str | None = None
    member_id: str | None = None

    @property
    def is_session(self) -> bool:
        return self.account_id is not None


@dataclass(frozen=True)
class NewKey:
    key: StoredKey
    secret: str  # shown once


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(engine: Engine, name: str, scope: str, clock: Clock) -> NewKey:
    """A new secret key; the secret is in the result and nowhere else."""
    check_text(name, "name", 100)
    if scope not in SCOPES:
        raise AccessRefused(f"scope: {scope!r} is not one of {', '.join(SCOPES)}")
    body = secrets.token_hex(20)
    secret = f"{KEY_PREFIX}{body}{zlib.crc32(body.encode()) & 0xFFFFFF:06x}"
    with write_transaction(engine) as connection:
        key_id = access.add_key(
            connection, name, scope, secret[: len(KEY_PREFIX) + 6], hash_secret(secret), clock.now()
        )
        (stored,) = [k for k in access.keys(connection) if k.id == key_id]
    return NewKey(stored, secret)


def list_keys(engine: Engine) -> list[StoredKey]:
    with read_connection(engine) as connection:
        return access.keys(connection)


def revoke_key(engine: Engine, key_id: int, clock: Clock) -> None:
    with write_transaction(engine) as connection:
        if not access.revoke_key(connection, key_id, clock.now()):
            raise AccessRefused(f"no key {key_id} that is not revoked already")
    _RECENT_KEYS.clear()


KEY_MEMORY_SECONDS = 1.0


class _RecentKeys:
    """The keys this process found valid in the last :data:`KEY_MEMORY_SECONDS`, so that a
    client sending many requests costs one lookup a second, not one a request. A key revoked
    by this process is forgotten at once; revoked by another (``seatwise keys revoke``), it is
    refused within :data:`KEY_MEMORY_SECONDS`. Only valid keys are remembered, so the memory
    holds at most the keys there are."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str], tuple[Caller, float]] = {}
        self._lock = threading.Lock()

    def get(self, engine: Engine, digest: str) -> Caller | None:
        with self._lock:
            found = self._found.get((str(engine.url), digest))
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def put(self, engine: Engine, digest: str, caller: Caller) -> None:
        with self._lock:
            self._found[(str(engine.url), digest)] = (
                caller,
                time.monotonic() + KEY_MEMORY_SECONDS,
            )

    def clear(self) -> None:
        with self._lock:
            self._found.clear()


_RECENT_KEYS = _RecentKeys()


def recent_caller(engine: Engine, secret: str) -> Caller | None:
    """The caller of a key found valid less than :data:`KEY_MEMORY_SECONDS` ago, without
    asking the database; None otherwise (then :func:`authenticate`)."""
    if not secret.startswith(KEY_PREFIX):
        return None
    return _RECENT_KEYS.get(engine, hash_secret(secret))


def authenticate(engine: Engine, secret: str, clock: Clock) -> Caller:
    """The caller a bearer secret names; :class:`AccessDenied` (401) for anything else."""
    key = _KEY.match(secret)
    if key is not None:
        if f"{zlib.crc32(key.group(1).encode()) & 0xFFFFFF:06x}" != key.group(2):
            raise AccessDenied("the API key's checksum is wrong: it was mistyped or cut")
        digest = hash_secret(secret)
        with read_connection(engine) as connection:
            stored = access.key_by_hash(connection, digest)
        if stored is None:
            raise AccessDenied("no such API key")
        if stored.revoked_at is not None:
            raise AccessDenied("this API key was revoked")
        caller = Caller(f"key:{stored.id}", stored.scope)
        _RECENT_KEYS.put(engine, digest, caller)
        return caller
    if _SESSION.match(secret):
        with read_connection(engine) as connection:
            session = access.session_by_hash(connection, hash_secret(secret))
        if session is None:
            raise AccessDenied("no such session")
        if session.expires_at <= clock.now() or session.ended_at is not None:
            raise AccessDenied("this session has expired: ask for a new one")
        return Caller(f"session:{session.id}", "write", session.account_id, session.member_id)
    raise AccessDenied("give an API key (sw_live_…) or a session token (sw_sess_…) as a Bearer")


@dataclass(frozen=True)
class NewSession:
    token: str  # shown once
    account_id: str
    member_id: str
    expires_at: datetime


def check_billing_member(
    connection: Connection, account_id: str, member_id: str, now: datetime
) -> None:
    """``member_id`` may see and manage the account's billing at ``now``: an active member
    with the Manage Billing permission (:class:`AccessDenied`, 403; :class:`AccessRefused` for
    an unknown member; :class:`~seatwise.store.repository.UnknownAccount` for an unknown
    account). Reads the member only, not the account's history."""
    member, changes = repository.member_history(connection, account_id, member_id)
    if member is None:
        raise AccessRefused(f"member: account {account_id!r} has no member {member_id!r}")
    if not member.manage_billing:
        raise AccessDenied(f"member {member_id!r} does not have the Manage Billing permission", 403)
    if SeatTimeline(changes).state_at(member_id, now) != ACTIVE:
        raise AccessDenied(f"member {member_id!r} is not active", 403)


def create_session(engine: Engine, account_id: str, member_id: str, clock: Clock) -> NewSession:
    """A session for ``member_id`` of ``account_id``, who must be an active member with the
    Manage Billing permission (:class:`AccessDenied`, 403, otherwise)."""
    now = clock.now()
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    with write_transaction(engine) as connection:
        check_billing_member(connection, account_id, member_id, now)
        expires = now + timedelta(minutes=SESSION_MINUTES)
        access.add_session(connection, hash_secret(token), account_id, member_id, now, expires)
    return NewSession(token, account_id, member_id, expires)
