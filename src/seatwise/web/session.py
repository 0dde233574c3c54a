"""Who is looking at the page: the session its signed cookie holds, checked on every request;
the request then runs in the session's account scope (every other account is unknown)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from seatwise.branding import Branding
from seatwise.engine.billing_access import PageSession, page_session
from seatwise.engine.billing_page import account_basics
from seatwise.engine.clock import Clock
from seatwise.store.repository import StoredAccount
from seatwise.store.repository.scope import enter_account_scope
from seatwise.web.app import COOKIE, Formats, WebState, render, web_state


@dataclass(frozen=True)
class Viewer:
    """A request of a billing admin: the services, the branding, and their session."""

    state: WebState
    session: PageSession

    @property
    def engine(self) -> Engine:
        return self.state.services.engine

    @property
    def clock(self) -> Clock:
        return self.state.services.clock

    @property
    def branding(self) -> Branding:
        return self.state.branding

    @property
    def account_id(self) -> str:
        return self.session.account_id

    @property
    def by(self) -> str:
        """How the history of billing details names this admin."""
        return f"page:{self.session.member_id}"


async def viewer(request: Request, state: Annotated[WebState, Depends(web_state)]) -> Viewer:
    cookie = request.cookies.get(COOKIE, "")
    session = await run_in_threadpool(
        page_session, state.services.engine, cookie, state.services.clock
    )
    enter_account_scope(session.account_id)
    return Viewer(state, session)


CurrentViewer = Annotated[Viewer, Depends(viewer)]


def viewer_formats(who: Viewer, stored: StoredAccount | None = None) -> Formats:
    """Money and dates of the viewer's account (its currency and time zone); ``stored``: the
    account when the caller has loaded it already."""
    if stored is not None:
        return Formats(who.branding, stored.plan.currency, stored.account.timezone)
    basics = account_basics(who.engine, who.account_id)
    return Formats(who.branding, basics.currency, basics.timezone)


def render_for(
    request: Request, who: Viewer, template: str, status: int = 200, **values: Any
) -> HTMLResponse:
    """A page of the viewer's session: its header names them, its forms carry their token."""
    return render(request, template, status, session=who.session, csrf=who.session.csrf, **values)
