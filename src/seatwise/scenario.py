"""Scenario files (SPEC section 9): a plan, one account, a timeline, and ``until``.

:func:`load_scenario` reads and validates a file strictly — every error names the file, the
line and the problem. Running one and its JSON document (SPEC section 9) are
:mod:`seatwise.scenario_result`'s. The format is an interface: it is documented in the README
and only ever extended compatibly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from seatwise.core.account import Account
from seatwise.core.billing import TimelineEvent
from seatwise.core.dunning import ManualPayment, MethodChange, PaymentError
from seatwise.core.errors import FieldError, PlanError
from seatwise.core.limits import (
    MAX_SEATS,
    check_email,
    check_timezone,
    check_url,
)
from seatwise.core.plans import Plan, parse_plan
from seatwise.core.seat_timeline import Member
from seatwise.scenario_timeline import TimelineBuilder, checked_text, payment_method_of
from seatwise.yaml_source import Node, SourceError, load


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
    return parse_scenario(_read_text(path, "scenario"), file)


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
        tuple(checked_text(c, check_email) for c in account_fields["contacts"])
        if "contacts" in account_fields
        else ()
    )
    payment_method = "succeeds"
    if "payment_method" in account_fields:
        payment_method = payment_method_of(account_fields["payment_method"])

    webhooks = [checked_text(url_node, check_url) for url_node in top.get("webhooks", ())]

    builder = TimelineBuilder(subscribed_at, plan)
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
    return _plan(load(_read_text(path, "plan"), file))


def _read_text(path: str | Path, what: str) -> str:
    """The file's text; :class:`SourceError` if it cannot be read or is not UTF-8 (``what``
    the file holds, named in the advice)."""
    file = str(path)
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SourceError(file, None, f"cannot read the file: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise SourceError(
            file, None, f"not UTF-8 text (byte {error.start + 1}): save the {what} as UTF-8"
        ) from None


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
    try:
        return check_timezone(node.text())
    except FieldError as error:
        node.fail(error.reason)
