"""The billing page's forms: buy credits, change the billing contacts, the billing address and
the payment method, cancel and take the cancellation back, log out. Each checks the form's
CSRF token, calls the use case the API and the command line call, and answers with a
redirect to the page (so reloading it posts nothing again); refused input shows the page
again with the reason beside the form and what was typed. A purchase carries a one-time key,
so a double click buys once."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from seatwise.api.problems import status_of
from seatwise.core.errors import FieldError, SeatwiseError
from seatwise.engine import accounts as use
from seatwise.engine.accounts import AccountChanges
from seatwise.engine.billing_access import check_csrf, end_page_session
from seatwise.engine.credits import buy_credits
from seatwise.engine.once import KeyInFlight, run_once
from seatwise.store.repository import BillingAddress
from seatwise.web.app import COOKIE, render
from seatwise.web.pages import overview_page, quote_view
from seatwise.web.session import CurrentViewer, Viewer

router = APIRouter()
Csrf = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=2000)]


def _back(anchor: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"/billing/?{urlencode(query)}#{anchor}", status_code=303)


FIELDS = {
    "billing_address.name": "Name",
    "billing_address.country": "Country",
    "billing_address.tax_id": "Tax ID",
    "payment_method": "Payment method",
    "credits": "Credits",
}


def readable(error: FieldError) -> str:
    """A refused field as the form names it: ``Email address 2: 'x' is not an email…``."""
    field, index = error.field, ""
    if field.endswith("]") and "[" in field:
        field, _, rest = field.partition("[")
        index = f" {int(rest.rstrip(']')) + 1}" if rest.rstrip("]").isdigit() else ""
    label = {"contacts": "Email address", "billing_address.lines": "Address line"}.get(field)
    return f"{label or FIELDS.get(field, field)}{index}: {error.reason}"


def _refused(
    request: Request,
    who: Viewer,
    section: str,
    error: SeatwiseError | str,
    values: dict[str, Any],
    asked: str | None = None,
) -> Response:
    status = 422 if isinstance(error, str) else status_of(error)
    reason = readable(error) if isinstance(error, FieldError) else str(error)
    return overview_page(request, who, status, errors={section: reason}, values=values, asked=asked)


@router.post("/credits")
def buy(
    request: Request,
    who: CurrentViewer,
    csrf: Csrf,
    credits: Annotated[str, Form(max_length=20)] = "",
    key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Buy credits: a checkout charged to the payment method on file, at the quoted price."""
    check_csrf(who.session, csrf)
    quoted = quote_view(who, credits)
    if quoted is None or quoted.quote is None:
        reason = "Type how many credits to buy." if quoted is None else quoted.error or ""
        return _refused(request, who, "credits", reason, {}, asked=credits)
    count = quoted.quote.quote.credits

    def purchase() -> bytes:
        made = buy_credits(who.engine, who.account_id, count, who.clock)
        return (made.invoice.number or "").encode()

    try:
        answer = run_once(
            who.engine,
            who.clock,
            f"page:{who.session.id}",
            key or None,
            f"buy {count}",
            303,
            purchase,
        )
    except KeyInFlight:
        return _back("credits")
    except SeatwiseError as error:
        return _refused(request, who, "credits", error, {}, asked=credits)
    return _back("credits", bought=answer.body.decode())


@router.post("/contacts")
def contacts(request: Request, who: CurrentViewer, csrf: Csrf, emails: Text = "") -> Response:
    """The billing contacts: one email address per line (or separated by commas)."""
    check_csrf(who.session, csrf)
    given = [part.strip() for part in emails.replace(",", "\n").splitlines() if part.strip()]
    try:
        use.update_account(
            who.engine, who.account_id, AccountChanges(contacts=tuple(given)), who.clock, who.by
        )
    except SeatwiseError as error:
        return _refused(request, who, "contacts", error, {"emails": emails})
    return _back("details", done="contacts")


@router.post("/address")
def address(
    request: Request,
    who: CurrentViewer,
    csrf: Csrf,
    name: Annotated[str, Form(max_length=200)] = "",
    lines: Text = "",
    country: Annotated[str, Form(max_length=10)] = "",
    tax_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The billing address printed on the invoices issued from now on."""
    check_csrf(who.session, csrf)
    typed = {"name": name, "lines": lines, "country": country, "tax_id": tax_id}
    if not name.strip():
        return _refused(request, who, "address", "Give the name to address invoices to.", typed)
    changes = AccountChanges(
        billing_address=BillingAddress(
            name.strip(),
            tuple(line.strip() for line in lines.splitlines() if line.strip()),
            country.strip().upper() or None,
            tax_id.strip() or None,
        )
    )
    try:
        use.update_account(who.engine, who.account_id, changes, who.clock, who.by)
    except SeatwiseError as error:
        return _refused(request, who, "address", error, typed)
    return _back("details", done="address")


@router.post("/payment-method")
def payment_method(
    request: Request,
    who: CurrentViewer,
    csrf: Csrf,
    method: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A new payment method; unpaid invoices are charged to it at once."""
    check_csrf(who.session, csrf)
    if not method.strip():
        return _refused(request, who, "method", "Choose a payment method.", {"method": method})
    changes = AccountChanges(payment_method=method.strip())
    try:
        use.update_account(who.engine, who.account_id, changes, who.clock, who.by)
    except SeatwiseError as error:
        return _refused(request, who, "method", error, {"method": method})
    return _back("details", done="method")


@router.post("/cancel")
def cancel(
    request: Request,
    who: CurrentViewer,
    csrf: Csrf,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Cancel at the end of the term or cycle, once confirmed."""
    check_csrf(who.session, csrf)
    if confirm != "yes":
        return RedirectResponse("/billing/cancel", status_code=303)
    try:
        use.cancel(who.engine, who.account_id, who.clock)
    except SeatwiseError as error:
        return _refused(request, who, "cancel", error, {})
    return _back("subscription", done="cancelled")


@router.post("/uncancel")
def uncancel(request: Request, who: CurrentViewer, csrf: Csrf) -> Response:
    """Take the cancellation back before it takes effect."""
    check_csrf(who.session, csrf)
    try:
        use.uncancel(who.engine, who.account_id, who.clock)
    except SeatwiseError as error:
        return _refused(request, who, "cancel", error, {})
    return _back("subscription", done="uncancelled")


@router.post("/logout")
def logout(request: Request, who: CurrentViewer, csrf: Csrf) -> Response:
    check_csrf(who.session, csrf)
    end_page_session(who.engine, who.session, who.clock)
    response = render(
        request,
        "error.html",
        title="You are logged out",
        message="Open the billing page again from the product you came from.",
        session=None,
        csrf=None,
    )
    response.delete_cookie(COOKIE, path="/billing")
    return response
