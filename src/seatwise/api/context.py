"""What every request carries: the services (database, clock, gateway), who calls, and, for a
write, the idempotency key. Guards say who may call a route:

* :func:`vendor` — the vendor's keys only (``read``, ``write`` or ``admin`` scope);
* :func:`billing` — the vendor's keys, or an account session, which the store then limits to
  its own account (every other account's ids answer 404: the repository's account scope).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from seatwise.branding import Branding
from seatwise.core.gateway import PaymentGateway
from seatwise.core.limits import check_text
from seatwise.engine.access import AccessDenied, Caller, authenticate, recent_caller
from seatwise.engine.clock import Clock
from seatwise.store.repository.scope import enter_account_scope

RANK = {"read": 0, "write": 1, "admin": 2}


@dataclass(frozen=True)
class Services:
    engine: Engine
    clock: Clock
    gateway: PaymentGateway | None = None
    branding: Branding | None = None  # on documents and the billing page


@dataclass(frozen=True)
class Ctx:
    """A request's context: the services, the caller, and for writes the idempotency key and
    a hash of the request (method, path, query, body)."""

    services: Services
    caller: Caller
    idempotency_key: str | None = None
    request_hash: str = ""

    @property
    def engine(self) -> Engine:
        return self.services.engine

    @property
    def clock(self) -> Clock:
        return self.services.clock


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def _caller(request: Request, found: Services) -> Caller:
    """Who calls: ``Authorization: Bearer sw_live_…`` (a key) or ``sw_sess_…`` (a session).
    A session's requests run in its account's scope."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AccessDenied("send `Authorization: Bearer` with an API key or a session token")
    secret = secret.strip()
    who = recent_caller(found.engine, secret)  # a key used a moment ago: no lookup
    if who is None:
        who = await run_in_threadpool(authenticate, found.engine, secret, found.clock)
    enter_account_scope(who.account_id)
    return who


def _guard(sessions: bool, scope: str) -> Callable[[Caller], Caller]:
    def check(who: Caller) -> Caller:
        if who.is_session:
            if not sessions:
                raise AccessDenied(
                    "an account session reads and writes its own account's billing only", 403
                )
        elif RANK[who.scope] < RANK[scope]:
            raise AccessDenied(f"this key's scope is {who.scope}; this needs {scope}", 403)
        return who

    return check


def _context(sessions: bool, scope: str) -> Callable[..., Awaitable[Ctx]]:
    check = _guard(sessions, scope)

    async def context(request: Request) -> Ctx:
        found = await services(request)
        who = check(await _caller(request, found))
        key = request.headers.get("idempotency-key")
        digest = ""
        if key is not None and request.method in ("POST", "PATCH", "DELETE"):
            check_text(key, "Idempotency-Key", 255)
            body = await request.body()
            raw = f"{request.method} {request.url.path}?{request.url.query}\n".encode()
            digest = hashlib.sha256(raw + body).hexdigest()
        else:
            key = None
        return Ctx(found, who, key, digest)

    return context


def vendor(scope: str = "read") -> Callable[..., Awaitable[Ctx]]:
    """A route for the vendor's keys of at least ``scope``."""
    return _context(False, scope)


def billing(write: bool = False) -> Callable[..., Awaitable[Ctx]]:
    """A route of an account's billing: the vendor's keys, or that account's session."""
    return _context(True, "write" if write else "read")
