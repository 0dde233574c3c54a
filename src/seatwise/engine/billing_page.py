"""What the billing page shows of an account, read at one instant in one go (SPEC 6, 7, 10):
where it stands, its calendar in words, its licences, the projected invoice with the members
it counts and since when, its credits, its latest invoices, what cancelling would do, and the
history of its billing details. Every figure comes from the use cases and the core the API
and the command line use; nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from seatwise.core.describe import CancellationOutlook, billing_calendar, cancellation_outlook
from seatwise.core.projection import Projection, project_invoice
from seatwise.core.seat_timeline import MemberChange, SeatTimeline, holds_seat
from seatwise.engine.accounts import AccountView, view_of
from seatwise.engine.queries import InvoiceDetails, invoice_page
from seatwise.store import page_repository as pages
from seatwise.store import repository
from seatwise.store.database import read_connection
from seatwise.store.page_repository import BillingChange
from seatwise.store.repository import AccountBasics

RECENT_INVOICES = 10


@dataclass(frozen=True)
class Licences:
    """An advance plan's seats now: ``licensed`` (paid for this term), ``in_use`` (held now),
    ``committed`` (the floor agreed)."""

    licensed: int
    in_use: int
    committed: int

    @property
    def unoccupied(self) -> int:
        return max(self.licensed - self.in_use, 0)


@dataclass(frozen=True)
class CountedMember:
    """A member the projected invoice counts, and when they held a seat: spans of
    ``(start, end)``, ``end`` None while they still hold it."""

    member: str
    spans: tuple[tuple[datetime, datetime | None], ...]


@dataclass(frozen=True)
class BillingOverview:
    view: AccountView
    calendar: tuple[str, ...]
    licences: Licences | None  # advance plans
    projection: Projection
    counted: tuple[CountedMember, ...]
    invoices: tuple[InvoiceDetails, ...]  # the latest, newest first
    more_invoices: bool
    outlook: CancellationOutlook | None  # what cancelling now does (or did)
    changes: tuple[BillingChange, ...]  # billing details' history, newest first

    @property
    def account_id(self) -> str:
        return self.view.stored.id


def billing_overview(engine: Engine, account_id: str, now: datetime) -> BillingOverview:
    """The account's billing page at ``now`` (the account scope applies)."""
    with read_connection(engine) as connection:
        stored = repository.load_account(connection, account_id)
        view = view_of(connection, stored, now)
        changes = pages.changes_of(connection, account_id)
    plan, account = stored.plan, stored.account
    seats = SeatTimeline(e for e in stored.events if isinstance(e, MemberChange))
    licences = None
    if plan.billing == "advance":
        licences = Licences(
            view.state.billed_seats,
            seats.occupancy(now, plan.count_invited),
            view.state.committed_seats,
        )
    projection = project_invoice(plan, account, stored.events, now, stored.credit_balance)
    since = None
    if projection.invoice is not None and plan.billing == "arrears":
        since = projection.invoice.period.start
    counted = tuple(
        CountedMember(member, _held(seats, member, now, since, plan.count_invited))
        for member in projection.members
    )
    latest = invoice_page(
        engine,
        repository.InvoiceFilter(account_id=account_id),
        None,
        RECENT_INVOICES + 1,
        newest_first=True,
    )
    outlook = None
    if view.state.status == "active":
        outlook = cancellation_outlook(plan, account, stored.events, now)
    return BillingOverview(
        view,
        tuple(billing_calendar(plan, account)),
        licences,
        projection,
        counted,
        tuple(latest[:RECENT_INVOICES]),
        len(latest) > RECENT_INVOICES,
        outlook,
        tuple(reversed(changes)),
    )


def account_basics(engine: Engine, account_id: str) -> AccountBasics:
    """The account's currency and time zone, which every amount and date of it is shown in,
    and its payment method, without its history (the account scope applies)."""
    with read_connection(engine) as connection:
        return repository.account_basics(connection, account_id)


def _held(
    seats: SeatTimeline,
    member: str,
    now: datetime,
    since: datetime | None,
    count_invited: bool,
) -> tuple[tuple[datetime, datetime | None], ...]:
    """When ``member`` held a seat: every span from ``since`` to ``now`` (a cycle billed in
    arrears), or the latest span begun by ``now`` (a renewal counts who holds a seat)."""
    held = [
        (span.start, span.end if span.end is None or span.end <= now else None)
        for span in seats.spans_of(member)
        if holds_seat(span.state, count_invited) and span.start <= now
    ]
    if since is None:
        return tuple(held[-1:])
    return tuple((start, end) for start, end in held if end is None or end > since)
