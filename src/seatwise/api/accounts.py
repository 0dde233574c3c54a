"""Accounts: ``/v1/accounts``. Create one on a plan with its first members, read where it
stands, update its contacts, billing address and payment method, cancel at the end of its
term (and take it back), delete it; its timeline. Its projected invoice is served by
:mod:`seatwise.api.projections`, its billing admins' sessions by :mod:`seatwise.api.sessions`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field, StrictBool, StrictInt

from seatwise.api.bodies import Input
from seatwise.api.common import when
from seatwise.api.context import Ctx, billing, vendor
from seatwise.api.idempotency import write
from seatwise.api.pagination import After, Limit, Page, number_cursor, page
from seatwise.api.problems import COMMON_RESPONSES
from seatwise.core.limits import MAX_SEQ
from seatwise.core.money import Currency
from seatwise.core.periods import iso
from seatwise.core.projection import NextInvoice
from seatwise.engine import accounts as use
from seatwise.engine.accounts import AccountChanges, AccountSpec, AccountView, NewMember
from seatwise.store import repository
from seatwise.store.repository import AccountRow, BillingAddress

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], responses=COMMON_RESPONSES)


class Address(Input):
    name: str = Field(max_length=200)
    lines: list[str] = Field(default_factory=list, max_length=6)
    country: str | None = Field(None, description="ISO 3166-1 alpha-2, like FR")
    tax_id: str | None = Field(None, max_length=64)

    def stored(self) -> BillingAddress:
        return BillingAddress(self.name, tuple(self.lines), self.country, self.tax_id)


def address_out(address: BillingAddress | None) -> Address | None:
    if address is None:
        return None
    return Address(
        name=address.name,
        lines=list(address.lines),
        country=address.country,
        tax_id=address.tax_id,
    )


class MemberIn(Input):
    id: str = Field(max_length=200)
    state: Literal["active", "invited"] = "active"
    manage_billing: StrictBool = False
    email: str | None = Field(None, max_length=320)


class AccountIn(Input):
    id: str = Field(max_length=100, description="Your id for the account (letters, digits, . _ -)")
    plan: str = Field(max_length=100, description="The id of its plan")
    subscribed_at: AwareDatetime | None = Field(None, description="Default: now; not later")
    start_at: AwareDatetime | None = Field(None, description="A delayed contract start")
    timezone: str = Field("UTC", max_length=64)
    committed_seats: StrictInt = Field(0, ge=0, le=1_000_000)  # not true, "2" or 2.0
    contacts: list[str] = Field(default_factory=list, max_length=50)
    billing_address: Address | None = None
    payment_method: str = Field("none", max_length=200, description="The gateway's token")
    members: list[MemberIn] = Field(default_factory=list, max_length=10_000)


class Wallet(BaseModel):
    balance: int
    assigned: int
    over_assigned: bool


class NextInvoiceOut(BaseModel):
    kind: str
    issued_at: str
    total: str
    due: bool = Field(
        False,
        description="Its date has passed and it is not issued yet (billing is behind): "
        "the next billing run issues it",
    )


def next_invoice_out(coming: NextInvoice | None, cur: Currency) -> NextInvoiceOut | None:
    """The next invoice as the API answers it (an account's, a projection's)."""
    if coming is None:
        return None
    total = cur.format(coming.total)
    return NextInvoiceOut(kind=coming.kind, issued_at=iso(coming.at), total=total, due=coming.due)


class AccountOut(BaseModel):
    id: str
    plan: str
    status: str
    currency: str
    subscribed_at: str
    start_at: str | None
    timezone: str
    committed_seats: int
    billed_seats: int
    credit_balance: str = Field(description="Money credited to the account, used first")
    credits: Wallet
    payment_method: str
    contacts: list[str]
    billing_address: Address | None
    cancels_at: str | None = Field(description="When a cancellation takes effect")
    ended_at: str | None
    next_invoice: NextInvoiceOut | None
    billing_error: str | None


class AccountSummary(BaseModel):
    id: str
    plan: str
    status: str
    subscribed_at: str
    ended_at: str | None
    billing_error: str | None


def account_out(view: AccountView) -> AccountOut:
    stored, state = view.stored, view.state
    cur = stored.plan.currency
    upcoming = view.next_invoice
    return AccountOut(
        id=stored.id,
        plan=stored.plan_id,
        status=state.status,
        currency=cur.code,
        subscribed_at=iso(stored.account.subscribed_at),
        start_at=when(stored.account.start_at),
        timezone=stored.account.timezone.key,
        committed_seats=state.committed_seats,
        billed_seats=state.billed_seats,
        credit_balance=cur.format(stored.credit_balance),
        credits=Wallet(
            balance=view.wallet.balance,
            assigned=view.wallet.assigned,
            over_assigned=view.wallet.over_assigned,
        ),
        payment_method=stored.payment_method,
        contacts=list(stored.account.contacts),
        billing_address=address_out(stored.billing_address),
        cancels_at=when(view.cancels_at),
        ended_at=when(view.ended_at),
        next_invoice=next_invoice_out(upcoming, cur),
        billing_error=stored.billing_error,
    )


def summary_out(row: AccountRow) -> AccountSummary:
    return AccountSummary(
        id=row.id,
        plan=row.plan_id,
        status=row.status,
        subscribed_at=iso(row.subscribed_at),
        ended_at=when(row.ended_at),
        billing_error=row.billing_error,
    )


def view(ctx: Ctx, account_id: str) -> AccountOut:
    return account_out(use.account_view(ctx.engine, account_id, ctx.clock.now()))


@router.post("", status_code=201, response_model=AccountOut, summary="Create an account")
def create_account(body: AccountIn, ctx: Annotated[Ctx, Depends(vendor("write"))]) -> Response:
    spec = AccountSpec(
        id=body.id,
        plan_id=body.plan,
        subscribed_at=body.subscribed_at,
        start_at=body.start_at,
        timezone=body.timezone,
        committed_seats=body.committed_seats,
        contacts=tuple(body.contacts),
        billing_address=None if body.billing_address is None else body.billing_address.stored(),
        payment_method=body.payment_method,
        members=tuple(NewMember(m.id, m.state, m.manage_billing, m.email) for m in body.members),
    )

    def create() -> AccountOut:
        use.create_account(ctx.engine, spec, ctx.clock)
        return view(ctx, body.id)

    return write(ctx, 201, create)


Status = Literal["active", "cancelled", "suspended", "deleted", "billing_error"]


@router.get("", response_model=Page[AccountSummary], summary="List accounts")
def list_accounts(
    ctx: Annotated[Ctx, Depends(billing())],
    status: Status | None = None,
    limit: Limit = 20,
    starting_after: After = None,
) -> Page[AccountSummary]:
    rows = use.accounts_page(ctx.engine, status, starting_after, limit + 1)
    return page(rows, limit, lambda row: row.id, summary_out)


@router.get("/{account_id}", response_model=AccountOut, summary="Get an account")
def get_account(account_id: str, ctx: Annotated[Ctx, Depends(billing())]) -> AccountOut:
    return view(ctx, account_id)


class AccountPatch(Input):
    contacts: list[str] | None = Field(None, max_length=50)
    billing_address: Address | None = None
    payment_method: str | None = Field(
        None, max_length=200, description="Unpaid invoices are charged to it at once"
    )


@router.patch(
    "/{account_id}", response_model=AccountOut, summary="Update contacts, address, method"
)
def update_account(
    account_id: str, body: AccountPatch, ctx: Annotated[Ctx, Depends(billing(write=True))]
) -> Response:
    given = body.model_fields_set
    changes = AccountChanges(
        contacts=None if body.contacts is None else tuple(body.contacts),
        billing_address=None if body.billing_address is None else body.billing_address.stored(),
        clear_billing_address="billing_address" in given and body.billing_address is None,
        payment_method=body.payment_method,
    )

    def update() -> AccountOut:
        use.update_account(ctx.engine, account_id, changes, ctx.clock, by=ctx.caller.id)
        return view(ctx, account_id)

    return write(ctx, 200, update)


@router.post(
    "/{account_id}/cancel", response_model=AccountOut, summary="Cancel at the end of the term"
)
def cancel(account_id: str, ctx: Annotated[Ctx, Depends(billing(write=True))]) -> Response:
    def do() -> AccountOut:
        use.cancel(ctx.engine, account_id, ctx.clock)
        return view(ctx, account_id)

    return write(ctx, 200, do)


@router.post(
    "/{account_id}/uncancel", response_model=AccountOut, summary="Take a cancellation back"
)
def uncancel(account_id: str, ctx: Annotated[Ctx, Depends(billing(write=True))]) -> Response:
    def do() -> AccountOut:
        use.uncancel(ctx.engine, account_id, ctx.clock)
        return view(ctx, account_id)

    return write(ctx, 200, do)


@router.delete("/{account_id}", response_model=AccountOut, summary="Delete (final)")
def delete(account_id: str, ctx: Annotated[Ctx, Depends(vendor("write"))]) -> Response:
    def do() -> AccountOut:
        use.delete_account(ctx.engine, account_id, ctx.clock)
        return view(ctx, account_id)

    return write(ctx, 200, do)


class TimelineEvent(BaseModel):
    seq: int
    at: str
    action: str
    member: str | None
    content: str | None
    credits: int | None
    recorded_at: str


@router.get(
    "/{account_id}/timeline",
    response_model=Page[TimelineEvent],
    summary="The account's events in the order recorded",
)
def timeline(
    account_id: str,
    ctx: Annotated[Ctx, Depends(vendor())],
    limit: Limit = 50,
    starting_after: After = None,
) -> Page[TimelineEvent]:
    after = None
    if starting_after is not None:
        reason = "the timeline's cursor is an event's seq number"
        after = number_cursor(starting_after, reason, MAX_SEQ)
    rows = use.timeline_page(ctx.engine, account_id, after, limit + 1)

    def shape(recorded: repository.RecordedEvent) -> TimelineEvent:
        row = repository.event_row(recorded.event)
        return TimelineEvent(
            seq=recorded.seq,
            at=iso(recorded.event.at),
            action=row["action"],
            member=row["member_id"],
            content=row["content"],
            credits=row["credits"],
            recorded_at=iso(recorded.recorded_at),
        )

    return page(rows, limit, lambda r: str(r.seq), shape)
