"""The billing page's application, mounted at ``/billing`` by ``seatwise serve``.

Server-rendered HTML (Jinja2) that works without JavaScript; htmx, shipped in the package,
only makes the price quote and the lists live. Every route is a thin shell over the engine's
use cases, run in the session's account scope, so the page can name no other account. Every
error is a page that says what happened and what to do — never a traceback: refused input
shows the page again with the reason beside the form, an unexpected failure an error id that
is in the server's log.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatwise.api.context import Services
from seatwise.api.problems import TITLES, status_of
from seatwise.branding import Branding
from seatwise.core.errors import SeatwiseError
from seatwise.core.money import Currency
from seatwise.core.periods import local_date
from seatwise.engine.billing_access import LinkRefused, SessionEnded
from seatwise.store.database import describe_database_error

LOG = logging.getLogger("seatwise.web")
COOKIE = "seatwise_billing"

TEMPLATES = Environment(
    loader=PackageLoader("seatwise.web", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,  # a missing value is a bug to see, not a blank on the page
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Formats:
    """Money and dates as the vendor's locale writes them, in the account's currency and
    time zone."""

    branding: Branding
    currency: Currency
    timezone: ZoneInfo

    def money(self, minor: int) -> str:
        return self.branding.money(self.currency, minor)

    def day(self, instant: datetime) -> str:
        return self.branding.day(local_date(instant, self.timezone))

    def moment(self, instant: datetime) -> str:
        local = instant.astimezone(self.timezone)
        return f"{self.day(instant)}, {local:%H:%M}"


@dataclass(frozen=True)
class WebState:
    services: Services
    branding: Branding


def web_state(request: Request) -> WebState:
    found: WebState = request.app.state.web
    return found


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    state = web_state(request)
    html = TEMPLATES.get_template(template).render(
        brand=state.branding, request=request, base="/billing", **values
    )
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


# The page embeds nothing from elsewhere and is embedded nowhere.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def error_page(request: Request, status: int, title: str, message: str, **extra: Any) -> Response:
    return render(
        request,
        "error.html",
        status,
        title=title,
        message=message,
        session=None,
        csrf=None,
        **extra,
    )


def _seatwise_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, SeatwiseError)
    if isinstance(error, LinkRefused):
        return error_page(request, error.status, error.title, str(error))
    if isinstance(error, SessionEnded):
        response = error_page(request, 401, "Your billing session has ended", str(error))
        response.delete_cookie(COOKIE, path="/billing")
        return response
    status = status_of(error)
    titles = {404: "Not found", 403: "Not allowed", 503: "Try again in a moment"}
    return error_page(request, status, titles.get(status, "This cannot be done"), str(error))


def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    fields = ", ".join(
        str(item.get("loc", ("", "?"))[-1]) for item in error.errors()[:5] if item.get("loc")
    )
    return error_page(
        request,
        400,
        "This request is not one the page sends",
        f"Something is missing or malformed ({fields}): go back to the billing page and try again.",
    )


def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    status = error.status_code
    message = {
        404: "There is no such page. The billing page is at /billing.",
        405: "The page does not answer this kind of request here.",
    }.get(status, str(error.detail))
    return error_page(request, status, TITLES.get(status, "Error"), message)


def _database_error(request: Request, error: Exception) -> Response:
    error_id = uuid.uuid4().hex[:12]
    LOG.error("database failure %s: %s", error_id, error, exc_info=error)
    return error_page(
        request,
        503,
        "Try again in a moment",
        f"The billing database did not answer ({describe_database_error(error)}). Nothing was "
        f"changed. Error id {error_id}.",
    )


class UnexpectedErrors:
    """Whatever escapes the routes becomes a page with an error id (its traceback goes to the
    server's log), unless the response had begun."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as error:
            if started or scope["type"] != "http":
                raise
            error_id = uuid.uuid4().hex[:12]
            LOG.error("unexpected failure %s on %s", error_id, scope.get("path"), exc_info=error)
            html = TEMPLATES.get_template("error.html").render(
                brand=scope["app"].state.web.branding,
                base="/billing",
                title="Something went wrong",
                message=(
                    f"An unexpected failure, error id {error_id}; nothing was half-done. Try "
                    "again, and tell the vendor's support this id if it happens again."
                ),
                session=None,
                csrf=None,
            )
            await HTMLResponse(html, status_code=500, headers=_HEADERS)(scope, receive, send)


def create_web_app(services: Services, branding: Branding) -> FastAPI:
    """The billing page over the API's services, branded by ``branding``."""
    from seatwise.web import actions, invoices, pages

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = WebState(services, branding)
    app.add_exception_handler(SeatwiseError, _seatwise_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.include_router(pages.router)
    app.include_router(invoices.router)
    app.include_router(actions.router)
    static = resources.files("seatwise.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(UnexpectedErrors)
    return app
