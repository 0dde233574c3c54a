"""How a customer's billing admin reaches the billing page (SPEC 10, 11).

The vendor's product asks for a **one-time link** for a member with the Manage Billing
permission (the API's account sessions, or ``seatwise billing-link``): ``/billing/enter?token=
sw_link_…``, valid :data:`LINK_MINUTES` minutes and opened once. Opening it starts a **page
session** of :data:`PAGE_SESSION_HOURS` hours for that member and account only, held in a
cookie signed with the server's secret (HMAC-SHA256); every form of the page carries a token
derived from the session (CSRF). Logging out ends the session. Only hashes of links and
sessions are stored.

The secret is ``SEATWISE_SECRET_KEY`` when set (several servers share it), else one made once
and kept in the database's ``settings``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from seatwise.engine.access import (
    AccessDenied,
    check_billing_member,
    hash_secret,
)
from seatwise.engine.clock import Clock
from seatwise.store import access_repository as access
from seatwise.store import page_repository as pages
from seatwise.store.database import read_connection, write_transaction
from seatwise.store.repository.scope import account_scope

LINK_MINUTES = 15
PAGE_SESSION_HOURS = 12
LINK_PREFIX, PAGE_PREFIX = "sw_link_", "sw_page_"
_LINK = re.compile(r"^sw_link_[0-9A-Za-z_-]{43}\Z")
_COOKIE = re.compile(r"^(sw_page_[0-9A-Za-z_-]{43})\.([0-9a-f]{64})\Z")
_SECRETS: weakref.WeakKeyDictionary[Engine, bytes] = weakref.WeakKeyDictionary()


class LinkRefused(AccessDenied):
    """A link that does not open the page: unknown (404), used or expired (410), for a member
    who may not see billing (403). ``title`` heads the page that says so."""

    def __init__(self, title: str, message: str, status: int) -> None:
        super().__init__(message, status)
        self.title = title


class SessionEnded(AccessDenied):
    """No page session, or one that expired or was logged out (401)."""


@dataclass(frozen=True)
class NewLink:
    token: str  # shown once
    account_id: str
    member_id: str
    expires_at: datetime

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/billing/enter?token={self.token}"


@dataclass(frozen=True)
class PageSession:
    """A billing admin's session of the page: ``cookie`` is the signed value to send back."""

    id: int
    account_id: str
    member_id: str
    expires_at: datetime
    cookie: str
    csrf: str


def signing_secret(engine: Engine) -> bytes:
    """The server's secret: ``SEATWISE_SECRET_KEY``, or the database's own (made once)."""
    configured = os.environ.get("SEATWISE_SECRET_KEY")
    if configured:
        return configured.encode()
    found = _SECRETS.get(engine)
    if found is None:
        with write_transaction(engine) as connection:
            value = pages.setting_or_add(connection, "secret_key", secrets.token_hex(32))
        found = _SECRETS[engine] = value.encode()
    return found


def _sign(secret: bytes, purpose: str, value: str) -> str:
    return hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def create_billing_link(engine: Engine, account_id: str, member_id: str, clock: Clock) -> NewLink:
    """A one-time link to the billing page for ``member_id``, an active member of
    ``account_id`` with the Manage Billing permission (refused otherwise, storing nothing)."""
    now = clock.now()
    token = LINK_PREFIX + secrets.token_urlsafe(32)
    expires = now + timedelta(minutes=LINK_MINUTES)
    with write_transaction(engine) as connection:
        check_billing_member(connection, account_id, member_id, now)
        pages.add_link(connection, hash_secret(token), account_id, member_id, now, expires)
    return NewLink(token, account_id, member_id, expires)


def open_billing_link(engine: Engine, token: str, clock: Clock) -> PageSession:
    """Use a one-time link: a new page session, or :class:`LinkRefused` saying why not."""
    unknown = LinkRefused(
        "This link does not work",
        "It is not a billing link, or it was cut short: copy the whole link, or ask for a new one.",
        404,
    )
    if not _LINK.match(token):
        raise unknown
    now = clock.now()
    with write_transaction(engine) as connection:
        link = pages.link_by_hash(connection, hash_secret(token))
        if link is None:
            raise unknown
        if link.used_at is not None:
            raise LinkRefused(
                "This link was used already",
                "A billing link opens the page once. Ask for a new link from the product you "
                "came from.",
                410,
            )
        if link.expires_at <= now:
            raise LinkRefused(
                "This link has expired",
                f"A billing link works for {LINK_MINUTES} minutes. Ask for a new link from the "
                "product you came from.",
                410,
            )
        try:
            check_billing_member(connection, link.account_id, link.member_id, now)
        except AccessDenied as denied:
            raise LinkRefused("You cannot see this account's billing", str(denied), 403) from None
        if not pages.use_link(connection, link.id, now):
            raise LinkRefused(
                "This link was used already", "A billing link opens the page once.", 410
            )
        session_token = PAGE_PREFIX + secrets.token_urlsafe(32)
        expires = now + timedelta(hours=PAGE_SESSION_HOURS)
        session_id = access.add_session(
            connection, hash_secret(session_token), link.account_id, link.member_id, now, expires
        )
    secret = signing_secret(engine)
    cookie = f"{session_token}.{_sign(secret, 'cookie', session_token)}"
    return PageSession(
        session_id,
        link.account_id,
        link.member_id,
        expires,
        cookie,
        _sign(secret, "csrf", session_token),
    )


def page_session(engine: Engine, cookie: str, clock: Clock) -> PageSession:
    """The session a cookie holds, checked: signed by this server, not expired or logged out,
    its member still allowed to see billing; :class:`SessionEnded` otherwise."""
    matched = _COOKIE.match(cookie or "")
    if matched is None:
        raise SessionEnded("No billing session: open the billing page from your product.")
    token, signature = matched.groups()
    secret = signing_secret(engine)
    if not hmac.compare_digest(signature, _sign(secret, "cookie", token)):
        raise SessionEnded("No billing session: open the billing page from your product.")
    now = clock.now()
    with read_connection(engine) as connection:
        session = access.session_by_hash(connection, hash_secret(token))
        if session is None or session.ended_at is not None or session.expires_at <= now:
            raise SessionEnded(
                "Your billing session has ended: open the billing page again from your product."
            )
        try:
            with account_scope(session.account_id):
                check_billing_member(connection, session.account_id, session.member_id, now)
        except AccessDenied as denied:
            raise SessionEnded(str(denied)) from None
    return PageSession(
        session.id,
        session.account_id,
        session.member_id,
        session.expires_at,
        cookie,
        _sign(secret, "csrf", token),
    )


def end_page_session(engine: Engine, session: PageSession, clock: Clock) -> None:
    """Log out: the session's cookie opens nothing any more."""
    token = session.cookie.partition(".")[0]
    with write_transaction(engine) as connection:
        pages.end_session(connection, hash_secret(token), clock.now())


def check_csrf(session: PageSession, given: str | None) -> None:
    """A form's token is the session's own (a page of this server sent the form)."""
    if not given or not hmac.compare_digest(given, session.csrf):
        raise AccessDenied(
            "This form is out of date or did not come from the billing page: reload the page "
            "and try again.",
            403,
        )
