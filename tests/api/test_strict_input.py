"""Ids, amounts and codes are exactly what they look like. A pattern anchored with ``$``
also matches before a final line break, and ``\\d`` and ``Decimal`` take any script's
digits: a plan ``"p\\n"`` and an account ``"acme\\n"`` were stored (unreachable by URL, whose
path refuses control characters), a price of ``"١٠.٠٠"`` was stored as written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from helpers import Vendor, vendor

from seatwise.store.database import make_engine, migrate

T0 = datetime(2025, 1, 1, tzinfo=UTC)
PRICE = {"preset": "seats-monthly", "currency": "USD", "price": "10.00"}


@pytest.fixture
def v(database_url: str) -> Vendor:
    migrate(database_url)
    found = vendor(make_engine(database_url), T0)
    found.call("POST", "/v1/plans", {"id": "p", "definition": PRICE})
    return found


def refused(v: Vendor, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = v.client.post(path, json=body, headers=v.auth)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = answer.json()
    return problem


@pytest.mark.parametrize("plan_id", ["q\n", "q q", "q/1", "é"])
def test_a_plan_id_that_is_not_letters_digits_dot_dash_underscore_is_422(
    v: Vendor, plan_id: str
) -> None:
    problem = refused(v, "/v1/plans", {"id": plan_id, "definition": PRICE})
    assert problem["errors"] == [
        {
            "field": "id",
            "reason": f"{plan_id!r} is not a plan id: 1–100 letters, digits, '.', '_' or '-'",
        }
    ]
    assert [p["id"] for p in v.call("GET", "/v1/plans")["data"]] == ["p"]


def test_an_account_id_with_a_final_line_break_is_422(v: Vendor) -> None:
    problem = refused(v, "/v1/accounts", {"id": "acme\n", "plan": "p"})
    assert problem["errors"][0]["field"] == "id"
    assert v.call("GET", "/v1/accounts")["data"] == []


@pytest.mark.parametrize("price", ["١٠.٠٠", "１０.００"])
def test_a_price_in_other_digits_than_0_to_9_is_422(v: Vendor, price: str) -> None:
    problem = refused(v, "/v1/plans", {"id": "q", "definition": {**PRICE, "price": price}})
    assert problem["errors"][0]["field"] == "definition.price"
    assert "is not a decimal amount" in problem["errors"][0]["reason"]


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "right/UTC", "posix/Europe/Paris"])
def test_a_time_zone_is_one_of_the_iana_database_s_names(v: Vendor, zone: str) -> None:
    """This machine's zone files answer to more names: ``localtime`` is whatever zone the
    server is set to (an account's anniversaries would move with the machine), ``right/``
    counts leap seconds."""
    problem = refused(v, "/v1/accounts", {"id": "acme", "plan": "p", "timezone": zone})
    assert problem["errors"] == [
        {"field": "timezone", "reason": f"{zone!r} is not an IANA time zone such as Europe/Paris"}
    ]
    for name in ("Europe/Paris", "UTC", "America/Argentina/Buenos_Aires", "EST5EDT"):
        created = v.call(
            "POST", "/v1/accounts", {"id": name.replace("/", "-"), "plan": "p", "timezone": name}
        )
        assert created["timezone"] == name


CREDITS = {**PRICE, "credits": {"unit_price": "1.00"}}
NOT_A_COUNT = [True, False, "2", 2.0, None]


@pytest.mark.parametrize("count", NOT_A_COUNT)
def test_committed_seats_are_a_json_integer(v: Vendor, count: Any) -> None:
    """``true`` was one committed seat (billed), ``"2"`` two: a count is a JSON integer, as
    the plan's own counts are (``minimum_seats: true`` was refused already)."""
    problem = refused(v, "/v1/accounts", {"id": "b", "plan": "p", "committed_seats": count})
    assert [error["field"] for error in problem["errors"]] == ["committed_seats"]
    assert v.client.get("/v1/accounts/b", headers=v.auth).status_code == 404


@pytest.mark.parametrize("count", NOT_A_COUNT)
def test_credits_bought_are_a_json_integer(v: Vendor, count: Any) -> None:
    """``{"credits": true}`` bought and charged one credit."""
    v.call("POST", "/v1/plans", {"id": "c", "definition": CREDITS})
    v.call("POST", "/v1/accounts", {"id": "a", "plan": "c", "payment_method": "succeeds"})
    before = v.call("GET", "/v1/invoices?account=a")["data"]
    problem = refused(v, "/v1/accounts/a/credits/purchases", {"credits": count})
    assert [error["field"] for error in problem["errors"]] == ["credits"]
    assert v.call("GET", "/v1/invoices?account=a")["data"] == before
    assert v.call("GET", "/v1/accounts/a/credits")["balance"] == 0


@pytest.mark.parametrize("count", [True, "2", 2.0])
def test_credits_assigned_are_a_json_integer(v: Vendor, count: Any) -> None:
    v.call("POST", "/v1/plans", {"id": "c", "definition": CREDITS})
    v.call("POST", "/v1/accounts", {"id": "a", "plan": "c", "members": [{"id": "m"}]})
    event = {"action": "assign", "member": "m", "content": "course", "credits": count}
    problem = refused(v, "/v1/accounts/a/events", event)
    assert [error["field"] for error in problem["errors"]] == ["credits"]
    answer = v.client.post(
        "/v1/events", json={"events": [{**event, "account": "a"}]}, headers=v.auth
    )
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == ["events[0].credits"]
    assert len(v.call("GET", "/v1/accounts/a/timeline")["data"]) == 1  # m's activation only
