"""Importing a scenario (SPEC 9) into the store as an account: its plan, its account, its
timeline, its payment method changes and webhook endpoints, in one transaction, with the
checks of recording an event (nothing after now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

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
        if account_id in repository.account_ids(connection):
            raise ImportRefused(f"account {account_id!r} exists already; choose another id")
        repository.save_plan(connection, account_id, dict(scenario.plan_data), now)
        repository.save_account(
            connection,
            account_id,
            account_id,
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
    return Imported(account_id, len(scenario.events), tuple(added), len(scenario.payments))
