"""Plans as the vendor's catalogue: created once, read by id, never changed (SPEC 3).

A plan is the document a scenario's ``plan:`` is (a preset and the fields that override it),
validated by the core. A plan in use bills its accounts as it was when they subscribed, so no
plan is ever edited: a new version is a new plan, with a new id.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from seatwise.core.errors import FieldError, SeatwiseError
from seatwise.core.plans import Plan, parse_plan
from seatwise.engine.clock import Clock
from seatwise.store import repository
from seatwise.store.database import read_connection, write_transaction

_PLAN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")


class PlanRefused(SeatwiseError):
    """A plan that cannot be created; nothing was stored."""


class UnknownPlan(SeatwiseError):
    """No plan has this id."""


@dataclass(frozen=True)
class StoredPlan:
    id: str
    definition: dict[str, Any]  # as given: the preset and the fields that override it
    plan: Plan
    created_at: datetime
    accounts: int  # how many accounts are on it


def _stored(row: repository.PlanRow, accounts: int) -> StoredPlan:
    return StoredPlan(row.id, row.definition, parse_plan(row.definition), row.created_at, accounts)


def create_plan(
    engine: Engine, definition: dict[str, Any], clock: Clock, plan_id: str | None = None
) -> StoredPlan:
    """Validate and store a plan under ``plan_id`` (default: a new ``plan_…`` id); an id in
    use is refused: plans never change."""
    parse_plan(definition)  # PlanError naming the field
    plan_id = plan_id or f"plan_{secrets.token_hex(6)}"
    if not _PLAN_ID.match(plan_id):  # bad input (422, exit 2), not a refusal of the state
        raise FieldError(
            "id", f"{plan_id!r} is not a plan id: 1–100 letters, digits, '.', '_' or '-'"
        )
    with write_transaction(engine) as connection:
        repository.hold_new_ids(connection, f"plan:{plan_id}")
        if repository.find_plan(connection, plan_id) is not None:
            raise PlanRefused(
                f"id: plan {plan_id!r} exists already; plans never change: a new version is a "
                "new plan, with a new id"
            )
        repository.save_plan(connection, plan_id, definition, clock.now())
        row = repository.find_plan(connection, plan_id)
    assert row is not None
    return _stored(row, 0)


def plan(engine: Engine, plan_id: str) -> StoredPlan:
    with read_connection(engine) as connection:
        row = repository.find_plan(connection, plan_id)
        if row is None:
            raise UnknownPlan(f"no plan {plan_id!r}")
        return _stored(row, repository.plan_users(connection, plan_id))


def plans(engine: Engine, after: str | None, limit: int) -> list[StoredPlan]:
    """Plans in id order, after ``after``."""
    with read_connection(engine) as connection:
        return [
            _stored(row, repository.plan_users(connection, row.id))
            for row in repository.plan_rows(connection, after, limit)
        ]
