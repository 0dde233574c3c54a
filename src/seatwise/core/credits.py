"""Credits (SPEC section 7): price quotes, and the wallet as a ledger.

A purchase adds credits to ``balance`` once its ``credits`` invoice is paid. Assigning premium
content to a member **reserves** credits (``assigned`` up, ``balance`` unchanged); **starting**
it spends them from both; **unassigning** before the start — or the member leaving — releases
the reservation. A start that finds too few credits in ``balance`` spends what there is and
charges the missing ones as ``overage`` (the billing walk prices them at the retail
``unit_price`` as ``credits_overage`` pending items). So ``balance`` never goes below zero.

Every movement is an immutable :class:`CreditEntry`; ``balance`` and ``assigned`` are the sums
of the entries' changes, always. A :class:`Wallet` is a value: each operation returns the new
wallet and the entries it appended, or raises :class:`CreditError` and changes nothing.
Credits never expire and belong to one account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType

from seatwise.core.errors import TimelineError
from seatwise.core.money import Currency
from seatwise.core.plans import Credits

PURCHASE, RESERVATION, RELEASE, SPEND, OVERAGE = (
    "purchase",
    "reservation",
    "release",
    "spend",
    "overage",
)
ENTRY_KINDS = (PURCHASE, RESERVATION, RELEASE, SPEND, OVERAGE)


class CreditError(TimelineError):
    """A credit movement that cannot happen (unknown assignment, member who has left…)."""


# -- the events of a timeline that move credits ----------------------------------------------


CHECKOUT, ON_INVOICE = "charge_automatically", "send_invoice"


@dataclass(frozen=True, slots=True)
class BuyCredits:
    """The account buys ``credits`` credits at ``at``: a ``credits`` invoice is issued then.
    ``collection``: a checkout, charged at once to the payment method whatever the plan's
    collection (``charge_automatically``, SPEC 7), or sold on an invoice paid by transfer
    (``send_invoice``)."""

    at: datetime
    credits: int
    collection: str = CHECKOUT


@dataclass(frozen=True, slots=True)
class CreditsPaid:
    """The ``credits`` invoice of the purchase made at ``purchased_at`` was paid at ``at``."""

    at: datetime
    purchased_at: datetime


@dataclass(frozen=True, slots=True)
class Assign:
    at: datetime
    member: str
    content: str
    credits: int


@dataclass(frozen=True, slots=True)
class Start:
    at: datetime
    member: str
    content: str


@dataclass(frozen=True, slots=True)
class Unassign:
    at: datetime
    member: str
    content: str


CreditEvent = BuyCredits | CreditsPaid | Assign | Start | Unassign
CREDIT_EVENT_TYPES = (BuyCredits, CreditsPaid, Assign, Start, Unassign)
CREDIT_ACTIONS = ("buy_credits", "credits_paid", "assign", "start", "unassign")


def credit_action(event: CreditEvent) -> str:
    """The event's name as scenario files and the store spell it."""
    names: dict[type, str] = {
        BuyCredits: "buy_credits",
        CreditsPaid: "credits_paid",
        Assign: "assign",
        Start: "start",
        Unassign: "unassign",
    }
    return names[type(event)]


# -- price quotes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quote:
    """What ``credits`` credits cost: each at ``unit_price`` (the tier the purchase reaches).
    ``better``: a larger purchase that costs the same or less, when there is one."""

    credits: int
    unit_price: int
    total: int
    better: Quote | None = None

    def text(self, cur: Currency, money: Callable[[int], str] | None = None) -> str:
        """``95 credits cost $950.00; 100 cost $900.00`` (amounts written by ``money``, by
        default as invoices write them)."""
        write = money or cur.display
        said = f"{self.credits:,} credits cost {write(self.total)}"
        if self.better is not None:
            said += f"; {self.better.credits:,} cost {write(self.better.total)}"
        return said


def unit_price_for(prices: Credits, credits: int) -> int:
    """The price of each credit in a purchase of ``credits``: the tier the whole purchase
    reaches, or the retail price without tiers (or below the first tier)."""
    price = prices.unit_price
    for tier in prices.tiers:
        if credits >= tier.first:
            price = tier.price
    return price


def quote(prices: Credits, credits: int) -> Quote:
    """The price of ``credits`` credits, and the larger purchase that would cost the same or
    less, if any (the one giving the most credits)."""
    if credits < 1:
        raise ValueError("a quote is for at least one credit")
    unit = unit_price_for(prices, credits)
    total = credits * unit
    larger = [
        tier for tier in prices.tiers if tier.first > credits and tier.first * tier.price <= total
    ]
    best = max(larger, key=lambda tier: tier.first, default=None)
    better = None if best is None else Quote(best.first, best.price, best.first * best.price)
    return Quote(credits, unit, total, better)


# -- the wallet --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreditEntry:
    """One movement of the ledger. ``credits`` is how many credits it concerns;
    ``balance_change`` and ``assigned_change`` are its effect on the wallet."""

    at: datetime
    kind: str
    credits: int
    balance_change: int
    assigned_change: int
    member: str | None = None
    content: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Reservation:
    member: str
    content: str
    credits: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Wallet:
    """An account's credits. ``open`` are the reservations not yet started, by (member,
    content); ``started`` the assignments already started (they cannot start again)."""

    balance: int = 0
    assigned: int = 0
    open: Mapping[tuple[str, str], Reservation] = field(
        default_factory=lambda: MappingProxyType({})
    )
    started: frozenset[tuple[str, str]] = frozenset()
    entries: tuple[CreditEntry, ...] = ()

    @property
    def over_assigned(self) -> bool:
        """``assigned`` exceeds ``balance``: the billing page shows the balance in red."""
        return self.assigned > self.balance

    def _with(self, new: list[CreditEntry], **changes: object) -> tuple[Wallet, list[CreditEntry]]:
        wallet = replace(
            self,
            balance=self.balance + sum(e.balance_change for e in new),
            assigned=self.assigned + sum(e.assigned_change for e in new),
            entries=(*self.entries, *new),
            **changes,  # type: ignore[arg-type]
        )
        assert wallet.balance >= 0 and wallet.assigned >= 0, wallet
        return wallet, new

    def purchase(self, at: datetime, credits: int, note: str) -> tuple[Wallet, list[CreditEntry]]:
        if credits < 1:
            raise CreditError("a purchase is of at least one credit", at=at)
        return self._with([CreditEntry(at, PURCHASE, credits, credits, 0, note=note)])

    def assign(
        self, at: datetime, member: str, content: str, credits: int
    ) -> tuple[Wallet, list[CreditEntry]]:
        key = (member, content)
        if credits < 1:
            raise CreditError("an assignment reserves at least one credit", member=member, at=at)
        if key in self.open:
            raise CreditError(f"{content!r} is already assigned", member=member, at=at)
        if key in self.started:
            raise CreditError(f"{content!r} was already started", member=member, at=at)
        entry = CreditEntry(
            at,
            RESERVATION,
            credits,
            0,
            credits,
            member,
            content,
            f"{credits} credit(s) reserved for {content} assigned to {member}",
        )
        opened = dict(self.open)
        opened[key] = Reservation(member, content, credits, at)
        return self._with([entry], open=MappingProxyType(opened))

    def start(self, at: datetime, member: str, content: str) -> tuple[Wallet, list[CreditEntry]]:
        """Spend the reservation: from ``balance`` as far as it goes, the rest as overage."""
        reservation, opened = self._take_reservation(at, member, content)
        spent = min(reservation.credits, self.balance)
        missing = reservation.credits - spent
        new = []
        if spent:
            new.append(
                CreditEntry(
                    at,
                    SPEND,
                    spent,
                    -spent,
                    -spent,
                    member,
                    content,
                    f"{spent} credit(s) spent: {member} started {content}",
                )
            )
        if missing:
            new.append(
                CreditEntry(
                    at,
                    OVERAGE,
                    missing,
                    0,
                    -missing,
                    member,
                    content,
                    f"{missing} credit(s) missing when {member} started {content}: "
                    "charged as overage",
                )
            )
        started = self.started | {(member, content)}
        return self._with(new, open=opened, started=started)

    def unassign(
        self, at: datetime, member: str, content: str, left: bool = False
    ) -> tuple[Wallet, list[CreditEntry]]:
        reservation, opened = self._take_reservation(at, member, content)
        entry = CreditEntry(
            at,
            RELEASE,
            reservation.credits,
            0,
            -reservation.credits,
            member,
            content,
            f"{reservation.credits} credit(s) released: {member} left before starting {content}"
            if left
            else f"{reservation.credits} credit(s) released: {content} unassigned from {member}",
        )
        return self._with([entry], open=opened)

    def _take_reservation(
        self, at: datetime, member: str, content: str
    ) -> tuple[Reservation, Mapping[tuple[str, str], Reservation]]:
        """The open reservation of ``content`` for ``member``, and the open ones without it;
        :class:`CreditError` when it was started already or never assigned."""
        key = (member, content)
        if key in self.started:
            raise CreditError(f"{content!r} was already started", member=member, at=at)
        reservation = self.open.get(key)
        if reservation is None:
            raise CreditError(f"{content!r} is not assigned to this member", member=member, at=at)
        rest = {other: r for other, r in self.open.items() if other != key}
        return reservation, MappingProxyType(rest)

    def member_left(self, at: datetime, member: str) -> tuple[Wallet, list[CreditEntry]]:
        """Release every reservation of a member who is deactivated or deleted."""
        if not self.open:  # nothing reserved: the usual case, answered without sorting
            return self, []
        wallet, new = self, []
        for member_id, content in sorted(self.open):
            if member_id == member:
                wallet, released = wallet.unassign(at, member, content, left=True)
                new.extend(released)
        return wallet, new


def totals(entries: tuple[CreditEntry, ...] | list[CreditEntry]) -> tuple[int, int]:
    """``(balance, assigned)`` as the ledger says: the sums of its entries' changes."""
    return sum(e.balance_change for e in entries), sum(e.assigned_change for e in entries)
