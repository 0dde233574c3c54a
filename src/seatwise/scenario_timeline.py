"""A scenario file's members and events (SPEC section 9), read into the core's timeline:
each entry validated strictly, with its file and line in every error, the member changes
checked as they are added (a :class:`~seatwise.core.seat_timeline.SeatTimeline`). The
document around them is :mod:`seatwise.scenario`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from seatwise.core.account import Cancel, Uncancel
from seatwise.core.billing import TimelineEvent
from seatwise.core.credits import (
    CHECKOUT,
    ON_INVOICE,
    Assign,
    BuyCredits,
    CreditError,
    CreditEvent,
    Start,
    Unassign,
    Wallet,
)
from seatwise.core.dunning import ManualPayment, MethodChange
from seatwise.core.errors import FieldError, InvalidAmount, TimelineError
from seatwise.core.gateway import TEST_METHODS
from seatwise.core.limits import (
    MAX_CREDITS,
    MAX_SEATS,
    check_amount,
    check_email,
    check_member_id,
)
from seatwise.core.money import Currency
from seatwise.core.periods import iso
from seatwise.core.plans import Plan
from seatwise.core.seat_timeline import Member, MemberChange, SeatTimeline
from seatwise.yaml_source import Node

MEMBER_EVENTS = ("invite", "activate", "deactivate", "reactivate", "delete")
CREDIT_EVENTS = ("buy_credits", "assign", "start", "unassign")
EVENT_KINDS = (*MEMBER_EVENTS, "cancel", "uncancel", "payment_method", "pay", *CREDIT_EVENTS)
INVOICE_NUMBER = re.compile(r"^INV-[0-9]{6,}\Z")


def checked_text(node: Node, check: Callable[[str, str], str]) -> str:
    """A text value that passes ``check`` (a :mod:`seatwise.core.limits` rule)."""
    try:
        return check(node.text(), "")
    except FieldError as error:
        node.fail(error.reason)


def amount_of(node: Node, cur: Currency) -> int:
    """A decimal amount (``"120.00"``, read from its source text) in minor units."""
    try:
        return check_amount(cur.parse(node.raw()), "amount")
    except (InvalidAmount, FieldError) as error:
        node.fail(str(error).removeprefix("amount: "))


def payment_method_of(node: Node) -> str:
    value = node.text()
    if not TEST_METHODS.match(value):
        node.fail(f"{value!r} is not succeeds, declines, declines_first_N or none")
    return value


class TimelineBuilder:
    """Turns member entries and events into validated member changes, with line numbers."""

    def __init__(self, subscribed_at: datetime, plan: Plan) -> None:
        self.subscribed_at = subscribed_at
        self.plan = plan
        self.wallet = Wallet()  # credit rules checked here too, to name the line
        self.purchases: set[datetime] = set()
        self.seats = SeatTimeline([])
        self.changes: list[MemberChange] = []
        self.later_members: list[Member] = []
        self.known: set[str] = set()
        self.counter = 0
        self.last_at = subscribed_at
        self.methods: list[MethodChange] = []
        self.payments: list[ManualPayment] = []
        self.payment_lines: list[int] = []

    def new_count(self, node: Node) -> int:
        """How many new members an entry creates: at least 1, and the account stays within
        :data:`~seatwise.core.limits.MAX_SEATS` members."""
        count = node.integer(1, MAX_SEATS)
        if len(self.known) + count > MAX_SEATS:
            node.fail(f"an account has at most {MAX_SEATS:,} members")
        return count

    def fresh_id(self) -> str:
        while True:
            self.counter += 1
            candidate = f"m{self.counter}"
            if candidate not in self.known:
                return candidate

    def record(self, node: Node, change: MemberChange) -> None:
        try:
            self.seats.apply(change)
        except TimelineError as error:
            node.fail(str(error))
        self.known.add(change.member)
        self.changes.append(change)

    def initial_members(self, entry: Node) -> list[Member]:
        fields = entry.mapping({"id", "count", "state", "manage_billing", "email"})
        if ("id" in fields) == ("count" in fields):
            entry.fail("a member entry needs either `id` or `count`")
        state = fields["state"].text() if "state" in fields else "active"
        if state not in ("active", "invited", "deactivated"):
            fields["state"].fail(f"{state!r} is not active, invited or deactivated")
        manage = fields["manage_billing"].boolean() if "manage_billing" in fields else False
        email = checked_text(fields["email"], check_email) if "email" in fields else None
        if "count" in fields:
            if email is not None:
                fields["email"].fail("give an `email` to one member (with `id`), not to a count")
            ids = [self.fresh_id() for _ in range(self.new_count(fields["count"]))]
        else:
            ids = [checked_text(fields["id"], check_member_id)]
            if ids[0] in self.known:
                fields["id"].fail(f"member {ids[0]!r} is listed twice")
        at = self.subscribed_at
        for member_id in ids:
            first = "invite" if state == "invited" else "activate"
            self.record(entry, MemberChange(at, member_id, first))
            if state == "deactivated":
                self.record(entry, MemberChange(at, member_id, "deactivate"))
        return [Member(member_id, manage, email) for member_id in ids]

    def event(self, entry: Node, tz: ZoneInfo, until: datetime) -> list[TimelineEvent]:
        fields = entry.mapping({"at", *EVENT_KINDS}, required=("at",))
        actions = [key for key in fields if key != "at"]
        if len(actions) != 1:
            entry.fail(f"an event has `at` and exactly one action ({', '.join(EVENT_KINDS)})")
        at = fields["at"].instant(tz)
        if at < self.subscribed_at:
            fields["at"].fail("the event is before the subscription")
        if at < self.last_at:
            fields["at"].fail(f"time goes backwards: the previous event is at {iso(self.last_at)}")
        if at > until:
            fields["at"].fail(f"the event is after `until` ({iso(until)})")
        self.last_at = at
        action = actions[0]
        value = fields[action]
        if action in MEMBER_EVENTS:
            return list(self.member_event(value, action, at))
        if action in ("cancel", "uncancel"):
            if not value.boolean():
                value.fail(f"write `{action}: true`")
            return [Cancel(at) if action == "cancel" else Uncancel(at)]
        if action == "payment_method":
            self.methods.append(MethodChange(at, payment_method_of(value)))
            return []
        if action == "pay":
            self.payments.append(self.payment(value, at))
            self.payment_lines.append(value.line)
            return []
        return [self.credit_event(value, action, at)]

    def payment(self, value: Node, at: datetime) -> ManualPayment:
        """``pay: INV-000002`` or ``pay: {invoice: INV-000002, amount: "120.00"}``."""
        amount = None
        if value.is_mapping:
            fields = value.mapping({"invoice", "amount"}, required=("invoice",))
            number_node = fields["invoice"]
            if "amount" in fields:
                amount = amount_of(fields["amount"], self.plan.currency)
        else:
            number_node = value
        number = number_node.text()
        if not INVOICE_NUMBER.match(number):
            number_node.fail(f"{number!r} is not an invoice number like INV-000002")
        return ManualPayment(at, number, amount)

    def member_event(self, value: Node, action: str, at: datetime) -> list[MemberChange]:
        if value.is_scalar and value.node.tag == "tag:yaml.org,2002:int":
            if action not in ("invite", "activate"):
                value.fail(f"`{action}` takes a list of member ids")
            ids = [self.fresh_id() for _ in range(self.new_count(value))]
        elif value.is_scalar:
            ids = [checked_text(value, check_member_id)]
        else:
            ids = [checked_text(item, check_member_id) for item in value]
        changes = []
        for member_id in ids:
            if action in ("deactivate", "reactivate", "delete") and member_id not in self.known:
                value.fail(f"unknown member {member_id!r}")
            if action == "invite" and member_id in self.known:
                value.fail(f"member {member_id!r} already exists and cannot be invited again")
            is_new = member_id not in self.known
            change = MemberChange(at, member_id, action)
            self.record(value, change)
            changes.append(change)
            if action in ("deactivate", "delete"):
                self.wallet, _ = self.wallet.member_left(at, member_id)
            if is_new:
                self.later_members.append(Member(member_id))
        return changes

    def credit_event(self, value: Node, action: str, at: datetime) -> CreditEvent:
        """A credit event, checked against the plan, the members and the wallet so far."""
        if self.plan.credits is None:
            value.fail(f"`{action}` needs a plan with credits (`credits: {{unit_price: …}}`)")
        if action == "buy_credits":
            if at in self.purchases:
                value.fail("credits were already bought at this instant")
            self.purchases.add(at)
            how = CHECKOUT
            if value.is_mapping:  # {credits: 100, collection: send_invoice}
                fields = value.mapping({"credits", "collection"}, required=("credits",))
                count_node = fields["credits"]
                if "collection" in fields:
                    how = fields["collection"].text()
                    if how not in (CHECKOUT, ON_INVOICE):
                        fields["collection"].fail(f"{how!r} is not {CHECKOUT} or {ON_INVOICE}")
            else:
                count_node = value
            return BuyCredits(at, count_node.integer(1, MAX_CREDITS), how)
        allowed = {"member", "content", *(("credits",) if action == "assign" else ())}
        required = ("member", "content", "credits") if action == "assign" else ("member", "content")
        fields = value.mapping(allowed, required=required)
        member = checked_text(fields["member"], check_member_id)
        content = checked_text(fields["content"], check_member_id)
        state = self.seats.state_at(member, at)
        if state is None:
            fields["member"].fail(f"unknown member {member!r}")
        if state in ("deactivated", "deleted"):
            fields["member"].fail(f"member {member!r} has left ({state})")
        event: CreditEvent
        try:
            if action == "assign":
                event = Assign(at, member, content, fields["credits"].integer(1, MAX_CREDITS))
                self.wallet, _ = self.wallet.assign(at, member, content, event.credits)
            elif action == "start":
                event = Start(at, member, content)
                self.wallet, _ = self.wallet.start(at, member, content)
            else:
                event = Unassign(at, member, content)
                self.wallet, _ = self.wallet.unassign(at, member, content)
        except CreditError as error:
            value.fail(error.reason)
        return event
