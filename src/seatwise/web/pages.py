"""The billing page's views: entering with a one-time link, the account's page with the price
quote, the credit ledger, the cancellation's confirmation, the vendor's colours and logo.
Reads only; invoices are in :mod:`seatwise.web.invoices`, and the forms post to
:mod:`seatwise.web.actions`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from seatwise.core.describe import price_in_words
from seatwise.core.errors import SeatwiseError
from seatwise.core.limits import MAX_CREDITS
from seatwise.core.money import Currency
from seatwise.core.seat_timeline import UTC_ZONE
from seatwise.engine.billing_access import PAGE_SESSION_HOURS, open_billing_link
from seatwise.engine.billing_page import BillingOverview, account_basics, billing_overview
from seatwise.engine.credits import PriceQuote, quote_credits, wallet
from seatwise.engine.gateways import configured_gateway
from seatwise.engine.queries import explain_invoice
from seatwise.web.app import COOKIE, Formats, WebState, render, web_state
from seatwise.web.session import CurrentViewer, Viewer, render_for, viewer_formats

router = APIRouter()
LEDGER_RECENT = 10

NOTICES = {
    "contacts": "Your billing contacts were saved.",
    "address": "Your billing address was saved: the next invoices carry it.",
    "method": "Your payment method was saved.",
    "cancelled": "Your subscription is cancelled. You can undo this until it ends.",
    "uncancelled": "The cancellation is undone: your subscription goes on.",
}


@router.get("/enter")
def enter(
    request: Request,
    state: Annotated[WebState, Depends(web_state)],
    token: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Open a one-time link: a session cookie for its member, then the page."""
    services = state.services
    session = open_billing_link(services.engine, token, services.clock)
    response = RedirectResponse("/billing/", status_code=303)
    response.set_cookie(
        COOKIE,
        session.cookie,
        max_age=PAGE_SESSION_HOURS * 3600,
        path="/billing",
        httponly=True,
        samesite="lax",
        secure=(state.branding.public_url or str(request.base_url)).startswith("https://"),
    )
    return response


@dataclass(frozen=True)
class QuoteView:
    """What the buy form shows: the quote for what was typed, or why there is none."""

    asked: str
    quote: PriceQuote | None = None
    error: str | None = None
    text: str = ""


def quote_view(who: Viewer, asked: str | None) -> QuoteView | None:
    if asked is None or not asked.strip():
        return None
    text = asked.strip().replace(",", "")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_CREDITS:
        return QuoteView(asked, error=f"Type a whole number of credits from 1 to {MAX_CREDITS:,}.")
    try:
        found = quote_credits(who.engine, who.account_id, int(text))
    except SeatwiseError as error:
        return QuoteView(asked, error=str(error))
    fmt = money_formats(who, found.currency)
    return QuoteView(asked, found, text=found.quote.text(found.currency, fmt.money))


def money_formats(who: Viewer, currency: Currency) -> Formats:
    """Formats for amounts only (no date is written with them)."""
    return Formats(who.branding, currency, UTC_ZONE)


def overview_page(
    request: Request,
    who: Viewer,
    status: int = 200,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    asked: str | None = None,
) -> Response:
    """The account's page; after a refused form, with the reason beside it and what was typed."""
    now = who.clock.now()
    found: BillingOverview = billing_overview(who.engine, who.account_id, now)
    stored = found.view.stored
    fmt = viewer_formats(who, stored)
    credits = stored.plan.credits is not None or bool(found.view.wallet.entries)
    entries = list(reversed(found.view.wallet.entries))
    return render_for(
        request,
        who,
        "overview.html",
        status,
        o=found,
        fmt=fmt,
        now=now,
        price=price_in_words(stored.plan, fmt.money),
        notice=notice,
        errors=errors or {},
        values=values or {},
        quote=quote_view(who, asked),
        credits=credits,
        ledger=entries[:LEDGER_RECENT],
        more_ledger=len(entries) > LEDGER_RECENT,
        choices=method_choices(),
        key=secrets.token_urlsafe(16),
        can_buy=stored.payment_method != "none",
    )


def method_choices() -> tuple[tuple[str, str], ...] | None:
    """The payment methods the gateway offers on the page (the test gateway's test cards),
    or None: a token from the gateway's own form."""
    choices: tuple[tuple[str, str], ...] | None = getattr(
        configured_gateway(), "method_choices", None
    )
    return choices


@router.get("/")
def overview(
    request: Request,
    who: CurrentViewer,
    credits: Annotated[str | None, Query(max_length=20)] = None,
    done: Annotated[str | None, Query(max_length=40)] = None,
    bought: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    notice = NOTICES.get(done or "")
    if bought:
        notice = purchase_notice(who, bought)
    return overview_page(request, who, notice=notice, asked=credits)


def purchase_notice(who: Viewer, number: str) -> str | None:
    """What a purchase came to, from its invoice (the account scope applies)."""
    try:
        details = explain_invoice(who.engine, number)
    except SeatwiseError:
        return None
    invoice = details.stored.invoice
    fmt = money_formats(who, details.currency)
    bought = sum(line.quantity for line in invoice.lines if line.kind == "credits_purchase")
    found = wallet(who.engine, who.account_id, who.clock.now())
    if details.stored.status == "paid":
        return (
            f"You bought {bought:,} credits for {fmt.money(invoice.total)} (invoice "
            f"{number}, paid). Your balance is now {found.balance:,} credits."
        )
    return (
        f"Invoice {number} for {bought:,} credits ({fmt.money(invoice.total)}) is issued; the "
        "credits arrive when it is paid."
    )


@router.get("/quote")
def quote(
    request: Request,
    who: CurrentViewer,
    credits: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The price of what is typed in the buy form: a fragment for htmx, else the page."""
    if request.headers.get("hx-request") != "true":
        asked = urlencode({"credits": credits})
        return RedirectResponse(f"/billing/?{asked}#credits", status_code=303)
    basics = account_basics(who.engine, who.account_id)
    return render(
        request,
        "_quote.html",
        quote=quote_view(who, credits),
        fmt=money_formats(who, basics.currency),
        csrf=who.session.csrf,
        key=secrets.token_urlsafe(16),
        can_buy=basics.payment_method != "none",
    )


@router.get("/credits")
def ledger(request: Request, who: CurrentViewer) -> Response:
    """The whole credit ledger, newest first."""
    found = wallet(who.engine, who.account_id, who.clock.now())
    return render_for(
        request,
        who,
        "ledger.html",
        w=found,
        entries=list(reversed(found.entries)),
        fmt=viewer_formats(who),
    )


@router.get("/cancel")
def confirm_cancel(request: Request, who: CurrentViewer) -> Response:
    """What cancelling does, in words, and the button that does it."""
    now = who.clock.now()
    found = billing_overview(who.engine, who.account_id, now)
    return render_for(
        request,
        who,
        "cancel.html",
        o=found,
        fmt=viewer_formats(who, found.view.stored),
    )


@router.get("/theme.css")
def theme(state: Annotated[WebState, Depends(web_state)]) -> Response:
    """The vendor's colours: the accent, text that reads on it, and links."""
    brand = state.branding
    link = brand.accent if brand.accent_text == "#ffffff" else "#1e3a8a"
    css = (
        f":root {{ --accent: {brand.accent}; --accent-text: {brand.accent_text}; "
        f"--link: {link}; }}\n"
    )
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})


@router.get("/logo")
def logo(state: Annotated[WebState, Depends(web_state)]) -> Response:
    if state.branding.logo is None:
        return Response(status_code=404)
    return FileResponse(state.branding.logo)
