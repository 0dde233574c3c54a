"""Scenario files (SPEC section 9): a plan, one account, a timeline, and ``until``.

:func:`load_scenario` reads and validates a file strictly — every error names the file, the
line and the problem. Running one and its JSON document (SPEC section 9) are
:mod:`seatwise.scenario_result`'s. The format is an interface: it is documented in the README
and only ever extended compatibly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from seatwise.core.account import Account, Cancel, Uncancel
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
from seatwise.core.dunning import ManualPayment, MethodChange, PaymentError
from seatwise.core.errors import FieldError, InvalidAmount, PlanError, TimelineError
from seatwise.core.gateway import TEST_METHODS
from seatwise.core.limits import (
    MAX_CREDITS,
    MAX_SEATS,
    check_amount,
    check_email,
    check_member_id,
    check_url,
)
from seatwise.core.money import Currency
from seatwise.core.periods import iso
from seatwise.core.plans import Plan, parse_plan
from seatwise.core.seat_timeline import Member, MemberChange, SeatTimeline
from seatwise.yaml_source import Node, SourceError, load

MEMBER_EVENTS = ("invite", "activate", "deactivate", "reactivate", "delete")
CREDIT_EVENTS = ("buy_credits", "assign", "start", "unassign")
EVENT_KINDS = (*MEMBER_EVENTS, "cancel", "uncancel", "payment_method", "pay", *CREDIT_EVENTS)
INVOICE_NUMBER = re.compile(r"^INV-\d{6,}$")


@dataclass(frozen=True)
class Scenario:
    """A validated scenario, ready to run."""

    file: str
    name: str
    plan: Plan
    account: Account
    payment_method: str
    events: tuple[TimelineEvent, ...]
    until: datetime
    expect: Node | None = field(default=None, compare=False)
    plan_data: dict[str, Any] = field(default_factory=dict, compare=False)
    methods: tuple[MethodChange, ...] = ()  # the payment method from subscription on
    webhooks: tuple[str, ...] = ()  # the vendor's webhook endpoints (URLs)
    payments: tuple[ManualPayment, ...] = ()  # `pay` events: payments recorded by hand
    payment_lines: tuple[int, ...] = field(default=(), compare=False)  # their lines

    def payment_error(self, error: PaymentError) -> SourceError:
        """A payment that cannot be recorded, said at its line."""
        index = self.payments.index(error.payment)
        return SourceError(self.file, self.payment_lines[index], f"pay: {error.reason}")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; :class:`SourceError` on any problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SourceError(file, None, f"cannot read the file: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise SourceError(
            file, None, f"not UTF-8 text (byte {error.start + 1}): save the scenario as UTF-8"
        ) from None
    return parse_scenario(text, file)


def parse_scenario(text: str, file: str = "<scenario>") -> Scenario:
    root = load(text, file)
    top = root.mapping(
        {"name", "plan", "account", "members", "events", "until", "expect", "webhooks"},
        required=("plan", "account", "until"),
    )
    plan, plan_data = _plan(top["plan"])
    account_fields = top["account"].mapping(
        {"subscribed_at", "start_at", "committed_seats", "timezone", "contacts", "payment_method"},
        required=("subscribed_at",),
    )
    tz = _timezone(account_fields.get("timezone"))
    subscribed_at = account_fields["subscribed_at"].instant(tz)
    start_at = None
    if "start_at" in account_fields:
        start_at = account_fields["start_at"].instant(tz)
        if start_at < subscribed_at:
            account_fields["start_at"].fail("the contract cannot start before the subscription")
    committed = (
        account_fields["committed_seats"].integer(0, MAX_SEATS)
        if "committed_seats" in account_fields
        else 0
    )
    contacts = (
        tuple(_checked(c, check_email) for c in account_fields["contacts"])
        if "contacts" in account_fields
        else ()
    )
    payment_method = "succeeds"
    if "payment_method" in account_fields:
        payment_method = _payment_method(account_fields["payment_method"])

    webhooks = [_checked(url_node, check_url) for url_node in top.get("webhooks", ())]

    builder = _TimelineBuilder(subscribed_at, plan)
    builder.methods.append(MethodChange(subscribed_at, payment_method))
    members: list[Member] = []
    if "members" in top:
        for entry in top["members"]:
            members.extend(builder.initial_members(entry))
    until = top["until"].instant(tz)
    if until < subscribed_at:
        top["until"].fail("`until` is before the subscription")
    events: list[TimelineEvent] = list(builder.changes)
    if "events" in top:
        for entry in top["events"]:
            events.extend(builder.event(entry, tz, until))

    name = top["name"].text() if "name" in top else Path(file).stem
    account = Account(
        subscribed_at=subscribed_at,
        committed_seats=committed,
        start_at=start_at,
        timezone=tz,
        contacts=contacts,
        members=tuple(members) + tuple(builder.later_members),
    )
    return Scenario(
        file,
        name,
        plan,
        account,
        payment_method,
        tuple(events),
        until,
        top.get("expect"),
        plan_data,
        tuple(builder.methods),
        tuple(webhooks),
        tuple(builder.payments),
        tuple(builder.payment_lines),
    )


def load_plan_file(path: str | Path) -> tuple[Plan, dict[str, Any]]:
    """A plan document on its own (what a scenario's ``plan:`` holds), validated, with the
    mapping it was read from; :class:`SourceError` naming the file and the line."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SourceError(file, None, f"cannot read the file: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise SourceError(
            file, None, f"not UTF-8 text (byte {error.start + 1}): save the plan as UTF-8"
        ) from None
    return _plan(load(text, file))


def _plan(node: Node) -> tuple[Plan, dict[str, Any]]:
    lines: dict[str, int] = {}
    data = node.to_data(lines)
    if not isinstance(data, dict):
        node.fail("must be a mapping of plan fields")
    try:
        return parse_plan(data), data
    except PlanError as error:
        path = error.path
        while path and path not in lines:
            path = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", path)
        line = lines.get(path, node.line)
        raise SourceError(node.file, line, f"plan.{error.path}: {error.reason}") from None


def _timezone(node: Node | None) -> ZoneInfo:
    if node is None:
        return ZoneInfo("UTC")
    name = node.text()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        node.fail(f"{name!r} is not an IANA time zone such as Europe/Paris")


def _checked(node: Node, check: Callable[[str, str], str]) -> str:
    """A text value that passes ``check`` (a :mod:`seatwise.core.limits` rule)."""
    try:
        return check(node.text(), "")
    except FieldError as error:
        node.fail(error.reason)


def _amount(node: Node, cur: Currency) -> int:
    """A decimal amount (``"120.00"``, read from its source text) in minor units."""
    try:
        return check_amount(cur.parse(node.raw()), "amount")
    except (InvalidAmount, FieldError) as error:
        node.fail(str(error).removeprefix("amount: "))


def _payment_method(node: Node) -> str:
    value = node.text()
    if not TEST_METHODS.match(value):
        node.fail(f"{value!r} is not succeeds, declines, declines_first_N or none")
    return value


class _TimelineBuilder:
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
        email = _checked(fields["email"], check_email) if "email" in fields else None
        if "count" in fields:
            if email is not None:
                fields["email"].fail("give an `email` to one member (with `id`), not to a count")
            ids = [self.fresh_id() for _ in range(self.new_count(fields["count"]))]
        else:
            ids = [_checked(fields["id"], check_member_id)]
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
            self.methods.append(MethodChange(at, _payment_method(value)))
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
                amount = _amount(fields["amount"], self.plan.currency)
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
            ids = [_checked(value, check_member_id)]
        else:
            ids = [_checked(item, check_member_id) for item in value]
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
        member = _checked(fields["member"], check_member_id)
        content = _checked(fields["content"], check_member_id)
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
