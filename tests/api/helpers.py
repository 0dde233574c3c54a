"""A vendor talking to the API in-process: an app over a migrated store with a fixed clock,
an admin key, and helpers to drive a scenario through HTTP only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from seatwise.api import create_app
from seatwise.core.account import Cancel, Uncancel
from seatwise.core.credits import Assign, BuyCredits, Start, Unassign
from seatwise.core.dunning import ManualPayment, MethodChange
from seatwise.core.periods import iso
from seatwise.core.seat_timeline import MemberChange
from seatwise.engine.access import create_key
from seatwise.engine.clock import FixedClock
from seatwise.scenario import Scenario
from seatwise.store.database import make_engine, migrate


@dataclass
class Vendor:
    client: TestClient
    clock: FixedClock
    engine: Engine
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        response = self.client.request(method, path, json=body, headers={**self.auth, **headers})
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json()

    def all(self, path: str) -> list[Any]:
        """Every item of a paged list."""
        items: list[Any] = []
        cursor = None
        while True:
            joiner = "&" if "?" in path else "?"
            after = f"&starting_after={cursor}" if cursor else ""
            found = self.call("GET", f"{path}{joiner}limit=100{after}")
            items += found["data"]
            if not found["has_more"]:
                return items
            cursor = found["next_cursor"]


def vendor(engine: Engine, at: datetime, scope: str = "admin") -> Vendor:
    clock = FixedClock(at)
    key = create_key(engine, "tests", scope, clock).secret
    return Vendor(TestClient(create_app(engine, clock)), clock, engine, key)


def with_seats_account(database_url: str) -> Vendor:
    """A vendor over a migrated store with plan ``p`` (`seats-monthly`, $10.00 a seat) and
    account ``a`` on it, subscribed on 1 Jan 2025 and paying with ``succeeds``; the clock at
    2 Jan 2025 09:00."""
    migrate(database_url)
    found = vendor(make_engine(database_url), datetime(2025, 1, 1, tzinfo=UTC))
    plan = {"preset": "seats-monthly", "currency": "USD", "price": "10.00"}
    found.call("POST", "/v1/plans", {"id": "p", "definition": plan})
    found.call("POST", "/v1/accounts", {"id": "a", "plan": "p", "payment_method": "succeeds"})
    found.clock.instant = datetime(2025, 1, 2, 9, tzinfo=UTC)
    return found


def with_invoiced_account(database_url: str, at: datetime, **account: Any) -> Vendor:
    """A vendor over a migrated store, with plan ``p`` (`licences-annual`, £96.00 a seat) and
    account ``acme`` on it (``account``: more of its fields), subscribed at ``at``: its
    INV-000001, 2 × £96.00 = £192.00 with the default two committed seats, is open (the
    preset sends its invoices)."""
    migrate(database_url)
    found = vendor(make_engine(database_url), at)
    plan = {"preset": "licences-annual", "currency": "GBP", "price": "96.00"}
    found.call("POST", "/v1/plans", {"id": "p", "definition": plan})
    found.call("POST", "/v1/accounts", {"id": "acme", "plan": "p", "committed_seats": 2, **account})
    return found


def drive(v: Vendor, scenario: Scenario, account_id: str = "acme") -> None:
    """Tell a scenario's story through HTTP only: the plan, the account with the members it
    subscribes with, then every event, payment method and payment by hand at its instant, and
    a billing run at `until`."""
    start = scenario.account.subscribed_at
    v.clock.instant = start
    for url in scenario.webhooks:
        v.call("POST", "/v1/webhook-endpoints", {"url": url})
    definition = json.loads(json.dumps(scenario.plan_data, default=str))
    v.call("POST", "/v1/plans", {"id": f"{account_id}-plan", "definition": definition})
    first = {
        e.member: e.action
        for e in scenario.events
        if isinstance(e, MemberChange) and e.at == start and e.action in ("activate", "invite")
    }
    members = [
        {
            "id": m.id,
            "state": "invited" if first.get(m.id) == "invite" else "active",
            "manage_billing": m.manage_billing,
            "email": m.email,
        }
        for m in scenario.account.members
        if m.id in first
    ]
    account = scenario.account
    v.call(
        "POST",
        "/v1/accounts",
        {
            "id": account_id,
            "plan": f"{account_id}-plan",
            "subscribed_at": iso(start),
            "start_at": None if account.start_at is None else iso(account.start_at),
            "timezone": account.timezone.key,
            "committed_seats": account.committed_seats,
            "contacts": list(account.contacts),
            "payment_method": scenario.payment_method,
            "members": members,
        },
    )
    steps: list[tuple[datetime, int, Any]] = [
        (e.at, 0, e)
        for e in scenario.events
        if not (isinstance(e, MemberChange) and e.at == start and e.member in first)
    ]
    steps += [(m.at, 1, m) for m in scenario.methods[1:]]
    steps += [(p.at, 2, p) for p in scenario.payments]
    base = f"/v1/accounts/{account_id}"
    for at, _, step in sorted(steps, key=lambda s: (s[0], s[1])):
        v.clock.instant = at
        if isinstance(step, MemberChange):
            details = next((m for m in account.members if m.id == step.member), None)
            body: dict[str, Any] = {"action": step.action, "member": step.member, "at": iso(at)}
            if details is not None and details.email:
                body.update(email=details.email, manage_billing=details.manage_billing)
            v.call("POST", f"{base}/events", body)
        elif isinstance(step, Assign):
            v.call(
                "POST",
                f"{base}/events",
                {
                    "action": "assign",
                    "member": step.member,
                    "content": step.content,
                    "credits": step.credits,
                    "at": iso(at),
                },
            )
        elif isinstance(step, Start | Unassign):
            action = "start" if isinstance(step, Start) else "unassign"
            v.call(
                "POST",
                f"{base}/events",
                {"action": action, "member": step.member, "content": step.content, "at": iso(at)},
            )
        elif isinstance(step, BuyCredits):
            v.call(
                "POST",
                f"{base}/credits/purchases",
                {"credits": step.credits, "collection": step.collection},
            )
        elif isinstance(step, Cancel | Uncancel):
            v.call("POST", f"{base}/{'cancel' if isinstance(step, Cancel) else 'uncancel'}")
        elif isinstance(step, MethodChange):
            v.call("PATCH", base, {"payment_method": step.method})
        elif isinstance(step, ManualPayment):
            v.call("POST", "/v1/billing-runs", {"account": account_id})
            amount = None if step.amount is None else scenario.plan.currency.format(step.amount)
            v.call(
                "POST", f"/v1/invoices/{step.invoice}/payments", {"at": iso(at), "amount": amount}
            )
        else:  # pragma: no cover - a scenario event this driver does not know
            raise AssertionError(f"cannot drive {step!r}")
    v.clock.instant = scenario.until
    v.call("POST", "/v1/billing-runs", {"account": account_id})
