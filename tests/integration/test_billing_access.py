"""Reaching the billing page, on SQLite and PostgreSQL: a one-time link for a member who may
manage billing, opened once within 15 minutes, starts a 12-hour session held in a signed
cookie; logging out, expiry, a tampered cookie or a member who lost access end it; a form
needs the session's own CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from seatwise.core.seat_timeline import MemberChange
from seatwise.engine.access import AccessDenied, AccessRefused
from seatwise.engine.accounts import AccountSpec, NewMember, create_account
from seatwise.engine.billing_access import (
    LinkRefused,
    SessionEnded,
    check_csrf,
    create_billing_link,
    end_page_session,
    open_billing_link,
    page_session,
)
from seatwise.engine.clock import FixedClock
from seatwise.engine.plans import create_plan
from seatwise.engine.recording import record_event
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import account_sessions, billing_links

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Engine:
    migrate(database_url)
    engine = make_engine(database_url)
    clock = FixedClock(T0)
    create_plan(engine, {"preset": "seats-monthly", "price": "10.00"}, clock, "p")
    for account in ("a", "b"):
        create_account(
            engine,
            AccountSpec(
                account,
                "p",
                members=(
                    NewMember("admin", manage_billing=True),
                    NewMember("worker"),
                ),
            ),
            clock,
        )
    return engine


def test_a_link_opens_one_session_once(engine: Engine) -> None:
    clock = FixedClock(T0)
    link = create_billing_link(engine, "a", "admin", clock)
    assert link.url("https://billing.example/") == (
        f"https://billing.example/billing/enter?token={link.token}"
    )
    assert link.expires_at == T0 + timedelta(minutes=15)
    clock.instant = T0 + timedelta(minutes=14, seconds=59)
    session = open_billing_link(engine, link.token, clock)
    assert (session.account_id, session.member_id) == ("a", "admin")
    assert session.expires_at == clock.instant + timedelta(hours=12)
    assert page_session(engine, session.cookie, clock).account_id == "a"
    with pytest.raises(LinkRefused, match="opens the page once") as again:
        open_billing_link(engine, link.token, clock)
    assert again.value.status == 410
    with engine.connect() as connection:  # only hashes are kept
        stored = connection.execute(select(billing_links.c.token_hash)).scalars().all()
        assert link.token not in stored and len(stored) == 1


def test_an_expired_an_unknown_and_a_cut_link_say_so(engine: Engine) -> None:
    clock = FixedClock(T0)
    link = create_billing_link(engine, "a", "admin", clock)
    clock.instant = T0 + timedelta(minutes=15)
    with pytest.raises(LinkRefused, match="works for 15 minutes") as expired:
        open_billing_link(engine, link.token, clock)
    assert expired.value.status == 410
    for token in ("", link.token[:-3], "sw_link_" + "A" * 43, "'; drop table x; --"):
        with pytest.raises(LinkRefused, match="not a billing link") as unknown:
            open_billing_link(engine, token, clock)
        assert unknown.value.status == 404
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(account_sessions)).scalar() == 0


def test_only_an_active_member_who_manages_billing_gets_a_link(engine: Engine) -> None:
    clock = FixedClock(T0)
    with pytest.raises(AccessDenied, match="Manage Billing") as denied:
        create_billing_link(engine, "a", "worker", clock)
    assert denied.value.status == 403
    with pytest.raises(AccessRefused, match="no member 'ghost'"):
        create_billing_link(engine, "a", "ghost", clock)
    link = create_billing_link(engine, "a", "admin", clock)
    clock.instant = T0 + timedelta(minutes=1)
    record_event(engine, "a", MemberChange(clock.instant, "admin", "deactivate"), clock)
    with pytest.raises(LinkRefused, match="is not active") as inactive:
        open_billing_link(engine, link.token, clock)
    assert inactive.value.status == 403


def test_a_session_ends_on_logout_on_expiry_and_when_its_member_leaves(engine: Engine) -> None:
    clock = FixedClock(T0)
    first = open_billing_link(engine, create_billing_link(engine, "a", "admin", clock).token, clock)
    second = open_billing_link(
        engine, create_billing_link(engine, "b", "admin", clock).token, clock
    )
    end_page_session(engine, first, clock)
    with pytest.raises(SessionEnded, match="has ended"):
        page_session(engine, first.cookie, clock)
    clock.instant = T0 + timedelta(hours=12)
    with pytest.raises(SessionEnded, match="has ended"):
        page_session(engine, second.cookie, clock)
    clock.instant = T0 + timedelta(hours=1)
    assert page_session(engine, second.cookie, clock).account_id == "b"
    record_event(engine, "b", MemberChange(clock.instant, "admin", "deactivate"), clock)
    with pytest.raises(SessionEnded, match="is not active"):
        page_session(engine, second.cookie, clock)


def test_a_cookie_not_signed_by_this_server_opens_nothing(engine: Engine) -> None:
    clock = FixedClock(T0)
    session = open_billing_link(
        engine, create_billing_link(engine, "a", "admin", clock).token, clock
    )
    token, _, signature = session.cookie.partition(".")
    forged = f"{token}.{'0' * 64}"
    for cookie in ("", "garbage", forged, token, session.cookie + "x", f"{token}.{signature}."):
        with pytest.raises(SessionEnded, match="No billing session"):
            page_session(engine, cookie, clock)


def test_a_form_needs_the_sessions_own_token(engine: Engine) -> None:
    clock = FixedClock(T0)
    a = open_billing_link(engine, create_billing_link(engine, "a", "admin", clock).token, clock)
    b = open_billing_link(engine, create_billing_link(engine, "b", "admin", clock).token, clock)
    check_csrf(a, a.csrf)
    for wrong in (None, "", b.csrf, a.csrf[:-1]):
        with pytest.raises(AccessDenied, match="out of date") as refused:
            check_csrf(a, wrong)
        assert refused.value.status == 403
