"""Importing a scenario (SPEC 9) into the store as an account: its plan, its account, its
timeline, its payment method changes and webhook endpoints, in one transaction, with the
checks of recording an event (nothing after now)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from seatwise.collect.webhooks import new_secret
from seatwise.core.errors import SeatwiseError
from seatwise.core.limits import check_account_id
from seatwise.core.periods import iso
from seatwise.scenario import Scenario
from seatwise.store import outbox_repository as outbox_store
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.database import write_transaction
from seatwise.store.outbox_repository import Endpoint


class ImportRefused(SeatwiseError):
    """A scenario that cannot be stored as an account; nothing was stored."""


@dataclass(frozen=True)
class Imported:
    """What an import stored: the account, its events, the webhook endpoints it registered
    (with their secrets, shown once) and the payments by hand it left out."""

    account_id: str
    plan_id: str  # the account's id, unless a different plan had that id already
    events: int
    endpoints: tuple[Endpoint, ...] = ()
    payments_left_out: int = 0


def import_scenario(
    engine: Engine,
    scenario: Scenario,
    account_id: str,
    now: datetime,
    notify_history: bool = False,
) -> Imported:
    """Store a scenario's plan, account and timeline as account ``account_id``, with the
    checks of recording an event: nothing after ``now`` (the future is not known); an account
    that exists already is refused (:class:`ImportRefused`).

    The account is told (emails, webhooks) of facts from ``now`` on: billing the imported
    history does not mail its customer about the past, unless ``notify_history``. The
    scenario's ``webhooks`` are registered (those not registered yet). Its ``pay`` events
    name invoices by a simulation's numbers, not the vendor's: they are left out (counted in
    the result); record payments with ``mark-paid``."""
    check_account_id(account_id, "account id")
    happened = [*scenario.events, *scenario.methods, *scenario.payments]
    future = [event.at for event in happened if event.at > now]
    if future:
        raise ImportRefused(
            f"{scenario.file}: an event at {iso(min(future))} is in the future (now is "
            f"{iso(now)}): a stored timeline holds what happened; `seatwise simulate` looks "
            "ahead"
        )
    added: list[Endpoint] = []
    with write_transaction(engine) as connection:
        repository.hold_new_ids(connection, f"account:{account_id}", f"plan:{account_id}")
        if repository.has_account(connection, account_id):
            raise ImportRefused(f"account {account_id!r} exists already; choose another id")
        plan_id = _store_plan(connection, account_id, dict(scenario.plan_data), now)
        repository.save_account(
            connection,
            account_id,
            plan_id,
            scenario.account,
            scenario.payment_method,
            scenario.events,
            now,
            notify_from=None if notify_history else now,
        )
        for change in scenario.methods[1:]:  # the first is the account's, at subscription
            payments.add_method(connection, account_id, change.at, change.method, now)
        known = {endpoint.url for endpoint in outbox_store.endpoints(connection)}
        for url in dict.fromkeys(scenario.webhooks):
            if url not in known:
                secret = new_secret()
                added.append(
                    Endpoint(outbox_store.add_endpoint(connection, url, secret, now), url, secret)
                )
    return Imported(account_id, plan_id, len(scenario.events), tuple(added), len(scenario.payments))


def _store_plan(
    connection: Connection, account_id: str, definition: dict[str, Any], now: datetime
) -> str:
    """The scenario's plan, stored under the account's id; its id. A plan may have that id
    already (one created over the API, or the plan of a deleted account of that id): the
    same plan is used again (plans never change); a different one stays as it is, and the
    scenario's is stored under a new id."""
    existing = repository.find_plan(connection, account_id)
    if existing is None:
        plan_id = account_id
    elif existing.definition == repository.as_stored(definition):
        return account_id
    else:
        plan_id = f"plan_{secrets.token_hex(6)}"
    repository.save_plan(connection, plan_id, definition, now)
    return plan_id
