"""An account (one customer of the vendor) and the subscription-level events of its timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from seatwise.core.seat_timeline import ACTIVE, Member, SeatTimeline

UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Account:
    """What the billing core needs to know about an account, all instants in UTC."""

    subscribed_at: datetime
    committed_seats: int = 0
    start_at: datetime | None = None
    timezone: ZoneInfo = UTC_ZONE
    contacts: tuple[str, ...] = ()
    members: tuple[Member, ...] = ()

    @property
    def service_start(self) -> datetime:
        """When the subscription's service (and its first term) begins."""
        return self.start_at if self.start_at is not None else self.subscribed_at

    def member(self, member_id: str) -> Member:
        for member in self.members:
            if member.id == member_id:
                return member
        return Member(member_id)

    def billing_recipients(self, seats: SeatTimeline, at: datetime) -> tuple[str, ...]:
        """Who receives billing mail at ``at``: the contacts, then active members with
        ``manage_billing`` who have an email address, without repeats."""
        recipients = dict.fromkeys(self.contacts)
        for member in self.members:
            if member.manage_billing and member.email and seats.state_at(member.id, at) == ACTIVE:
                recipients.setdefault(member.email)
        return tuple(recipients)


@dataclass(frozen=True, slots=True)
class Cancel:
    """The account unsubscribes at ``at``; the subscription ends at the next term boundary."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Uncancel:
    """The account takes back its cancellation at ``at``, before it took effect: the
    subscription goes on as if it had never been cancelled."""

    at: datetime


RETENTION_DAYS = 120  # a deleted or resigned account's personal data is purged this long after
TERMINATIONS = {"suspend": "suspended", "cancel": "cancelled", "delete": "deleted"}


@dataclass(frozen=True, slots=True)
class Terminate:
    """Dunning's final action (SPEC 8): at ``at`` the account is suspended, cancelled or
    deleted (``action``: ``suspend``, ``cancel``, ``delete``). Billing stops at once: no
    invoice for the cycle in progress or after, and pending items are dropped; what was
    invoiced already stays owed."""

    at: datetime
    action: str

    @property
    def status(self) -> str:
        return TERMINATIONS[self.action]
