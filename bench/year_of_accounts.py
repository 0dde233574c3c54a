"""The billing benchmarks' accounts: one of the five presets each, 10–50 members and a year of
member events (hires, leavers, returns within six months, deletions), made from a seed.

Only what the store has long had is used here (``repository.save_plan`` and
``save_account``), so ``billing_instructions.py`` can store the same accounts with an earlier
revision's code and compare its billing run with this one's.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from seatwise.core.account import Account
from seatwise.core.seat_timeline import MemberChange
from seatwise.store import repository
from seatwise.store.database import write_transaction

START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC)
PLANS: dict[str, dict[str, Any]] = {
    "licences-annual": {"preset": "licences-annual", "currency": "USD", "price": "120.00"},
    "active-users-monthly": {"preset": "active-users-monthly", "currency": "EUR", "price": "9.00"},
    "seats-monthly": {"preset": "seats-monthly", "currency": "USD", "price": "12.00"},
    "seats-annual": {"preset": "seats-annual", "currency": "GBP", "price": "96.00"},
    "contract-annual": {"preset": "contract-annual", "currency": "EUR", "price": "108.00"},
}

REACTIVATION_WINDOW = timedelta(days=180)  # members come back within 6 months (SPEC 2.2)


def account_year(rng: random.Random) -> tuple[str, Account, list[MemberChange]]:
    """One account: a preset, 10–50 members at the start, and a year of changes."""
    preset = rng.choice(list(PLANS))
    subscribed = START + timedelta(days=rng.randrange(0, 28), hours=rng.randrange(0, 24))
    size = rng.randint(10, 50)
    committed = size if preset in ("licences-annual", "contract-annual") else 0
    state: dict[str, str] = {}
    left: dict[str, datetime] = {}  # when each deactivated member left
    events: list[MemberChange] = []
    for index in range(1, size + 1):
        member = f"m{index}"
        events.append(MemberChange(subscribed, member, "activate"))
        state[member] = "active"
    at = subscribed
    next_id = size + 1
    while True:
        at += timedelta(hours=rng.randint(24, 24 * 12), minutes=rng.randrange(60))
        if at >= YEAR_END - timedelta(days=1):
            break
        roll = rng.random()
        active = [m for m, s in state.items() if s == "active"]
        away = [m for m, s in state.items() if s == "deactivated"]
        if roll < 0.40 or not active:
            member, action = f"m{next_id}", "activate"
            next_id += 1
        elif roll < 0.70:
            member, action = rng.choice(active), "deactivate"
        elif roll < 0.90 and away:
            member, action = rng.choice(away), "reactivate"
            if at - left[member] > REACTIVATION_WINDOW:  # too late to come back: deleted
                action = "delete"
        else:
            member, action = rng.choice(active), "delete"
        events.append(MemberChange(at, member, action))
        state[member] = {"deactivate": "deactivated", "delete": "deleted"}.get(action, "active")
        if action == "deactivate":
            left[member] = at
    account = Account(subscribed_at=subscribed, committed_seats=committed)
    return preset, account, events


def load_accounts(engine: Engine, count: int, seed: int) -> int:
    """Store ``count`` accounts; returns the number of events stored."""
    rng = random.Random(seed)
    recorded = datetime.now(UTC)
    stored = 0
    with write_transaction(engine) as connection:
        for plan_id, definition in PLANS.items():
            repository.save_plan(connection, plan_id, definition, recorded)
        for index in range(count):
            preset, account, events = account_year(rng)
            repository.save_account(
                connection, f"acct-{index:06d}", preset, account, "succeeds", events, recorded
            )
            stored += len(events)
    return stored
