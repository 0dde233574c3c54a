"""The REST API application (FastAPI on uvicorn): ``seatwise serve`` runs it.

Every handler is a thin shell over an engine use case, as the command line is; no billing
rule lives here. The OpenAPI document is at ``/v1/openapi.json`` and its documentation at
``/docs``, from assets shipped in the package (no CDN). Requests are bounded: a body larger
than :data:`MAX_BODY` bytes is refused with 413 before it is read, one whose body takes more
than :data:`BODY_SECONDS` to arrive with 408; a path, query or body holding a NUL is 400.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata, resources
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatwise.api import (
    accounts,
    billing_runs,
    credits,
    events,
    health,
    invoices,
    payments,
    plans,
    projections,
    sessions,
    webhooks,
)
from seatwise.api.bodies import add_documented_bodies
from seatwise.api.context import Services
from seatwise.api.event_groups import EventGroups
from seatwise.api.problems import HANDLERS, problem
from seatwise.branding import Branding
from seatwise.core.gateway import PaymentGateway
from seatwise.engine.clock import Clock, SystemClock
from seatwise.web.app import create_web_app

MAX_BODY = 2 * 1024 * 1024  # a batch of 1,000 events fits with room to spare
BODY_SECONDS = 30  # the longest a request body may take to arrive
LOG = logging.getLogger("seatwise.api")

# The resources in the order the documentation reads them (the order their routes are tried
# in is another: see create_app).
TAGS = [
    {"name": "health", "description": "Whether the server and its database answer"},
    {"name": "plans", "description": "Prices and rules; a plan in use is immutable"},
    {"name": "accounts", "description": "Your customers' subscriptions, and their sessions"},
    {"name": "events", "description": "What your product reports: members and credits"},
    {"name": "invoices", "description": "Issued, projected, paid, voided, credited"},
    {"name": "credits", "description": "Prepaid credits: quotes, purchases, wallet, ledger"},
    {"name": "payments", "description": "Payments and receipts"},
    {"name": "webhooks", "description": "Endpoints notified of what happens, and deliveries"},
    {"name": "billing runs", "description": "Billing up to now, for one account or all"},
]


class BodyLimit:
    """Refuses a request body larger than ``limit`` bytes (413), by its Content-Length or as
    it streams in, so a huge upload cannot exhaust the server."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            try:  # a client that sends its body slowly holds a worker: not for long
                message = await asyncio.wait_for(receive(), BODY_SECONDS)
            except TimeoutError:
                raise _TooSlow from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)
        except _TooSlow:
            await problem(408, f"the request body took more than {BODY_SECONDS} s to arrive")(
                scope, receive, send
            )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, f"the request body is larger than {self.limit:,} bytes")
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PlainInput:
    """Refuses (400) a path or query that holds control characters (a NUL, a line break), and
    a body that holds a NUL character (``\\u0000`` in JSON): no identifier or parameter of the
    API has one, and no database should see one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = unquote(scope.get("query_string", b"").decode("latin-1"))
        if _CONTROL.search(scope.get("path", "")) or _CONTROL.search(query):
            await problem(400, "the path or query holds control characters")(scope, receive, send)
            return
        body: list[Message] = []  # at most the body limit: BodyLimit runs before this
        while True:
            message = await receive()
            body.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        if b"\\u0000" in b"".join(m.get("body", b"") for m in body).lower():
            await problem(400, "the body holds a NUL character")(scope, receive, send)
            return
        replay = iter(body)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)


def version() -> str:
    try:
        return metadata.version("seatwise")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    groups: EventGroups = app.state.event_groups
    await asyncio.to_thread(groups.close)  # what was reported is recorded before it stops


def create_app(
    engine: Engine,
    clock: Clock | None = None,
    gateway: PaymentGateway | None = None,
    branding: Branding | None = None,
) -> FastAPI:
    """The API over ``engine``, and the billing page at ``/billing``; ``clock``, ``gateway``
    and ``branding`` are injected (tests fix the clock; by default the branding is the
    environment's)."""
    app = FastAPI(
        title="Seatwise API",
        version=version(),
        description=(
            "Seat billing and prepaid credits. Authenticate with `Authorization: Bearer` and an "
            "API key (`sw_live_…`, from `seatwise keys create`) or an account session "
            "(`sw_sess_…`). Every write takes an `Idempotency-Key`. Lists are keyset pages "
            "(`limit`, `starting_after`). Errors are `application/problem+json`. Money is a "
            "decimal string with the currency's digits, beside its currency code; instants "
            "are ISO 8601 with a zone."
        ),
        openapi_url="/v1/openapi.json",
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    brand = branding or Branding.from_environment()
    app.state.services = Services(engine, clock or SystemClock(), gateway, brand)
    app.state.event_groups = EventGroups(engine, app.state.services.clock)
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, handler)
    # Routes are tried in this order: events, the busiest routes by far, come early (trying the
    # others' patterns first cost ~95 µs a request); the documentation's order is TAGS'. Single
    # events, the busiest of all, are served by a plain route tried before every other
    # (events.single_event_route: FastAPI's wrapping of an endpoint, left out, was a sixth of
    # their instructions); their APIRoute documents them.
    routers = [health, events, plans, accounts, sessions, projections, invoices, credits, payments]
    for module in [*routers, webhooks, billing_runs]:
        app.include_router(module.router)
    app.router.routes.insert(0, events.single_event_route())
    static = resources.files("seatwise.api") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.mount("/billing", create_web_app(app.state.services, brand), name="billing")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/v1/openapi.json",
            title="Seatwise API",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui/favicon-32x32.png",
        )

    app.add_middleware(PlainInput)
    app.add_middleware(BodyLimit)  # added last: outermost, so bodies are bounded first
    _security_scheme(app)
    return app


def _security_scheme(app: FastAPI) -> None:
    """The OpenAPI document as the API answers: Bearer credentials on every operation but the
    health check, and every error as ``application/problem+json`` (a :class:`Problem`)."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base()
            components = schema.setdefault("components", {})
            components["securitySchemes"] = {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "sw_live_… or sw_sess_…",
                }
            }
            schema["security"] = [{"bearer": []}]
            problem_schema = {"$ref": "#/components/schemas/Problem"}
            for operations in schema["paths"].values():
                for operation in operations.values():
                    for status, response in operation.get("responses", {}).items():
                        if status.isdigit() and int(status) >= 400:
                            response["content"] = {
                                "application/problem+json": {"schema": problem_schema}
                            }
            add_documented_bodies(components)
            for unused in ("HTTPValidationError", "ValidationError"):
                components.get("schemas", {}).pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
