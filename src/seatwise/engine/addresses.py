"""Billing addresses: checked when given, kept with their history, and found as they were at
an instant (documents print the address in effect when they were issued)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Connection

from seatwise.core.errors import FieldError
from seatwise.core.limits import check_text
from seatwise.store import page_repository as pages
from seatwise.store.repository import BillingAddress, StoredAccount

_COUNTRY = re.compile(r"^[A-Z]{2}\Z")


def check_address(address: BillingAddress | None) -> None:
    if address is None:
        return
    check_text(address.name, "billing_address.name", 200)
    if len(address.lines) > 6:
        raise FieldError("billing_address.lines", "at most 6 lines")
    for index, line in enumerate(address.lines):
        check_text(line, f"billing_address.lines[{index}]", 200)
    if address.country is not None and not _COUNTRY.match(address.country):
        raise FieldError(
            "billing_address.country", f"{address.country!r} is not a country code like FR"
        )
    if address.tax_id is not None:
        check_text(address.tax_id, "billing_address.tax_id", 64)


def address_at(
    connection: Connection, stored: StoredAccount, at: datetime
) -> BillingAddress | None:
    """The billing address the account had at ``at``: documents print the address in effect
    when they were issued, whatever it became since."""
    history = pages.changes_of(connection, stored.id, "billing_address")
    if not history:
        return stored.billing_address
    before = [change for change in history if change.at <= at]
    data = before[-1].new if before else history[0].old
    if data is None:
        return None
    return BillingAddress(data["name"], tuple(data["lines"]), data["country"], data["tax_id"])


def address_data(address: BillingAddress | None) -> dict[str, object] | None:
    """A billing address as the history of changes keeps it (JSON)."""
    if address is None:
        return None
    return {
        "name": address.name,
        "lines": list(address.lines),
        "country": address.country,
        "tax_id": address.tax_id,
    }
