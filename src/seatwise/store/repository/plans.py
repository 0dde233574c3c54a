"""Plans: stored once, read by id or a page at a time; how many accounts use one (a plan in
use is immutable). Over the caller's connection; nothing here commits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    func,
    insert,
    select,
)

from seatwise.core.plans import parse_plan
from seatwise.store.tables import (
    accounts,
    plans,
)


def save_plan(
    connection: Connection, plan_id: str, definition: dict[str, Any], now: datetime
) -> None:
    parse_plan(definition)  # refuse an invalid plan before storing it
    connection.execute(
        insert(plans).values(id=plan_id, definition=_stored_text(definition), created_at=now)
    )


def _stored_text(definition: dict[str, Any]) -> str:
    return json.dumps(definition, default=str, sort_keys=True)


def as_stored(definition: dict[str, Any]) -> dict[str, Any]:
    """A plan's document as it reads once stored (dates and amounts as text): to tell
    whether a stored plan is the same as this one."""
    stored: dict[str, Any] = json.loads(_stored_text(definition))
    return stored


@dataclass(frozen=True)
class PlanRow:
    id: str
    definition: dict[str, Any]
    created_at: datetime


def find_plan(connection: Connection, plan_id: str) -> PlanRow | None:
    row = connection.execute(select(plans).where(plans.c.id == plan_id)).one_or_none()
    return None if row is None else PlanRow(row.id, json.loads(row.definition), row.created_at)


def plan_rows(connection: Connection, after: str | None, limit: int) -> list[PlanRow]:
    """Plans by id, after ``after`` (keyset pagination)."""
    query = select(plans).order_by(plans.c.id).limit(limit)
    if after is not None:
        query = query.where(plans.c.id > after)
    return [
        PlanRow(r.id, json.loads(r.definition), r.created_at) for r in connection.execute(query)
    ]


def plan_users(connection: Connection, plan_id: str) -> int:
    """How many accounts are on the plan."""
    return int(
        connection.execute(
            select(func.count()).select_from(accounts).where(accounts.c.plan_id == plan_id)
        ).scalar_one()
    )
