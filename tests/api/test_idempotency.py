"""Idempotency keys and the vendor's event ids, on SQLite and PostgreSQL: a retry is
answered with the first response and writes nothing; the same key with another request is
422; concurrent duplicates write exactly once; a batch's repeated ids are recorded once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from helpers import Vendor, vendor
from sqlalchemy import func, select

from seatwise.api import create_app
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import idempotency_keys, plans, timeline_events

T0 = datetime(2025, 1, 1, tzinfo=UTC)
PLAN = {"definition": {"preset": "seats-monthly", "currency": "USD", "price": "10.00"}}


@pytest.fixture
def v(database_url: str) -> Vendor:
    migrate(database_url)
    return vendor(make_engine(database_url), T0)


def count(v: Vendor, table: Any) -> int:
    with v.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_retry_gets_the_first_response_and_writes_nothing(v: Vendor) -> None:
    key = {"Idempotency-Key": "create-plan-1"}
    first = v.client.post("/v1/plans", json=PLAN, headers={**v.auth, **key})
    again = v.client.post("/v1/plans", json=PLAN, headers={**v.auth, **key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count(v, plans) == 1
    other = v.client.post("/v1/plans", json={**PLAN, "id": "other"}, headers={**v.auth, **key})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert count(v, plans) == 1
    too_long = v.client.post(
        "/v1/plans", json=PLAN, headers={**v.auth, "Idempotency-Key": "k" * 256}
    )
    assert too_long.status_code == 422 and count(v, plans) == 1


def test_a_failed_write_gives_its_key_back(v: Vendor) -> None:
    key = {"Idempotency-Key": "fails-first"}
    bad = v.client.post("/v1/plans", json={"definition": {"price": "x"}}, headers={**v.auth, **key})
    assert bad.status_code == 422 and count(v, idempotency_keys) == 0
    fixed = v.client.post(
        "/v1/plans", json={"definition": {"price": "1.00"}}, headers={**v.auth, **key}
    )
    assert fixed.status_code == 201


def test_keys_are_pruned_after_two_days(v: Vendor) -> None:
    v.client.post("/v1/plans", json=PLAN, headers={**v.auth, "Idempotency-Key": "old"})
    v.clock.instant = datetime(2025, 1, 2, 23, tzinfo=UTC)  # 47 hours: kept
    v.client.post("/v1/plans", json=PLAN, headers={**v.auth, "Idempotency-Key": "new"})
    assert count(v, idempotency_keys) == 2
    v.clock.instant = datetime(2025, 1, 3, 1, tzinfo=UTC)  # 49 hours: pruned
    v.client.post("/v1/plans", json=PLAN, headers={**v.auth, "Idempotency-Key": "newer"})
    assert count(v, idempotency_keys) == 2


@pytest.fixture
def server(v: Vendor) -> Iterator[str]:
    """The same app served by uvicorn on 127.0.0.1, for requests that really run at once."""
    config = uvicorn.Config(
        create_app(v.engine, v.clock), host="127.0.0.1", port=0, log_level="warning"
    )
    live = uvicorn.Server(config)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    while not live.started:
        threading.Event().wait(0.02)
    port = live.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    live.should_exit = True
    thread.join(timeout=10)


def test_concurrent_duplicates_write_exactly_once(v: Vendor, server: str) -> None:
    headers = {**v.auth, "Idempotency-Key": "at-once"}

    def post(_: int) -> httpx.Response:
        return httpx.post(f"{server}/v1/plans", json=PLAN, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(16)))
    assert {a.status_code for a in answers} <= {201, 409}
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1 and count(v, plans) == 1
    assert any(a.status_code == 201 for a in answers)


def test_repeated_event_ids_are_recorded_once(v: Vendor) -> None:
    v.call("POST", "/v1/plans", {**PLAN, "id": "p"})
    for account in ("a", "b"):
        v.call("POST", "/v1/accounts", {"id": account, "plan": "p", "payment_method": "succeeds"})
    v.clock.instant = datetime(2025, 1, 1, 9, tzinfo=UTC)
    before = count(v, timeline_events)
    batch = {
        "events": [
            {"id": "e1", "account": "a", "action": "activate", "member": "ana"},
            {"id": "e1", "account": "a", "action": "activate", "member": "ana"},
            {"id": "e2", "account": "b", "action": "activate", "member": "ben"},
            {"id": "e3", "account": "b", "action": "deactivate", "member": "nobody"},
            {"id": "e4", "account": "zz", "action": "activate", "member": "x"},
        ]
    }
    first = v.call("POST", "/v1/events", batch)["results"]
    assert [(r["status"], r["replayed"]) for r in first] == [
        ("accepted", False),
        ("accepted", True),
        ("accepted", False),
        ("refused", False),
        ("refused", False),
    ]
    assert "cannot deactivate a member who does not exist" in first[3]["reason"]
    assert first[4]["reason"] == "no account 'zz'"
    assert count(v, timeline_events) == before + 2
    again = v.call("POST", "/v1/events", batch)["results"]
    assert [r["replayed"] for r in again] == [True, True, True, False, False]
    assert [r["seq"] for r in again[:3]] == [r["seq"] for r in first[:3]]
    assert count(v, timeline_events) == before + 2
    one = v.call(
        "POST", "/v1/accounts/a/events", {"id": "e1", "action": "activate", "member": "ana"}
    )
    assert one["replayed"] and one["seq"] == first[0]["seq"]
