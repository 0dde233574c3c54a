"""Tenant isolation over **every** route of the OpenAPI document, on SQLite and PostgreSQL: an
account session of A gets 404 for B's ids and 403 on the vendor's routes; lists show it A
only; no credentials is 401, a read key cannot write, a revoked key is 401."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers import Vendor, vendor
from sqlalchemy import Engine, text

from seatwise.engine.access import KEY_MEMORY_SECONDS, create_key, revoke_key
from seatwise.store.database import make_engine, migrate

T0 = datetime(2025, 1, 1, tzinfo=UTC)
PUBLIC = {("GET", "/healthz"), ("GET", "/livez")}
# the vendor's routes: an account session gets 403 whatever the ids
VENDOR_ONLY = {
    ("POST", "/v1/plans"),
    ("GET", "/v1/plans"),
    ("GET", "/v1/plans/{plan_id}"),
    ("POST", "/v1/accounts"),
    ("DELETE", "/v1/accounts/{account_id}"),
    ("GET", "/v1/accounts/{account_id}/timeline"),
    ("POST", "/v1/accounts/{account_id}/sessions"),
    ("POST", "/v1/accounts/{account_id}/events"),
    ("POST", "/v1/events"),
    ("POST", "/v1/invoices/{invoice_id}/finalize"),
    ("POST", "/v1/invoices/{invoice_id}/payments"),
    ("POST", "/v1/invoices/{invoice_id}/void"),
    ("POST", "/v1/invoices/{invoice_id}/mark-uncollectible"),
    ("POST", "/v1/invoices/{invoice_id}/credit-notes"),
    ("GET", "/v1/webhook-endpoints"),
    ("POST", "/v1/webhook-endpoints"),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"),
    ("GET", "/v1/webhook-deliveries"),
    ("POST", "/v1/billing-runs"),
}
LISTS = {("GET", "/v1/accounts"), ("GET", "/v1/invoices")}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/plans"): {"definition": {"preset": "seats-monthly", "price": "1.00"}},
    ("POST", "/v1/accounts"): {"id": "c", "plan": "p"},
    ("PATCH", "/v1/accounts/{account_id}"): {"contacts": ["x@y.example"]},
    ("POST", "/v1/accounts/{account_id}/sessions"): {"member": "admin"},
    ("POST", "/v1/accounts/{account_id}/events"): {"action": "activate", "member": "zed"},
    ("POST", "/v1/events"): {"events": [{"account": "b", "action": "activate", "member": "z"}]},
    ("POST", "/v1/invoices/{invoice_id}/payments"): {},
    ("POST", "/v1/invoices/{invoice_id}/void"): {"reason": "test"},
    ("POST", "/v1/invoices/{invoice_id}/mark-uncollectible"): {"reason": "test"},
    ("POST", "/v1/invoices/{invoice_id}/credit-notes"): {"amount": "1.00", "reason": "test"},
    ("POST", "/v1/accounts/{account_id}/credits/purchases"): {"credits": 1},
    ("POST", "/v1/webhook-endpoints"): {"url": "http://127.0.0.1:9/hooks"},
    ("POST", "/v1/billing-runs"): {"account": "b"},
}
QUERIES = {("GET", "/v1/accounts/{account_id}/credits/quote"): "?credits=5"}


@pytest.fixture
def world(database_url: str) -> tuple[Vendor, dict[str, str], dict[str, str]]:
    """Accounts `a` and `b` on one plan with credits, each invoiced; an endpoint; a session of
    a's billing admin. Returns the vendor, B's ids and A's ids."""
    migrate(database_url)
    engine: Engine = make_engine(database_url)
    v = vendor(engine, T0)
    definition = {
        "preset": "seats-monthly",
        "currency": "USD",
        "price": "10.00",
        "credits": {"unit_price": "1.00"},
    }
    v.call("POST", "/v1/plans", {"id": "p", "definition": definition})
    for account in ("a", "b"):
        v.call(
            "POST",
            "/v1/accounts",
            {
                "id": account,
                "plan": "p",
                "payment_method": "succeeds",
                "members": [{"id": "admin", "manage_billing": True}, {"id": "m1"}],
            },
        )
    endpoint = v.call("POST", "/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/h"})
    ids_b = {
        "account_id": "b",
        "invoice_id": "INV-000002",
        "plan_id": "p",
        "endpoint_id": str(endpoint["id"]),
    }
    ids_a = {**ids_b, "account_id": "a", "invoice_id": "INV-000001"}
    return v, ids_b, ids_a


def routes(v: Vendor) -> list[tuple[str, str]]:
    doc = v.client.get("/v1/openapi.json").json()
    return sorted((method.upper(), path) for path, ops in doc["paths"].items() for method in ops)


def url(path: str, ids: dict[str, str], method: str) -> str:
    return path.format(**ids) + QUERIES.get((method, path), "")


def test_every_route_is_covered_by_these_tests(
    world: tuple[Vendor, dict[str, str], dict[str, str]],
) -> None:
    v, _, _ = world
    for method, path in routes(v):
        if method in ("POST", "PATCH") and (method, path) not in BODIES:
            assert path.endswith(("/cancel", "/uncancel", "/finalize", "/rotate-secret")), path


def test_a_session_of_a_never_reaches_b(
    world: tuple[Vendor, dict[str, str], dict[str, str]],
) -> None:
    v, ids_b, ids_a = world
    session = v.call("POST", "/v1/accounts/a/sessions", {"member": "admin"})["token"]
    as_a = {"Authorization": f"Bearer {session}"}
    checked = 0
    for method, path in routes(v):
        if (method, path) in PUBLIC:
            continue
        body = BODIES.get((method, path))
        answer = v.client.request(method, url(path, ids_b, method), json=body, headers=as_a)
        if (method, path) in VENDOR_ONLY:
            assert answer.status_code == 403, (method, path, answer.text)
        elif (method, path) in LISTS:
            assert answer.status_code == 200, (method, path, answer.text)
            accounts = {item.get("account", item.get("id")) for item in answer.json()["data"]}
            assert accounts == {"a"}, (method, path, accounts)
        elif "{" in path:
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        checked += 1
        if (method, path) not in VENDOR_ONLY and method == "GET":  # its own: answered
            own = v.client.get(url(path, ids_a, method), headers=as_a)
            assert own.status_code == 200, (method, path, own.text)
    assert checked >= 30


def test_credentials_are_checked_on_every_route(
    world: tuple[Vendor, dict[str, str], dict[str, str]],
) -> None:
    v, ids_b, _ = world
    reader = create_key(v.engine, "reader", "read", v.clock).secret
    writer = create_key(v.engine, "writer", "write", v.clock)
    revoke_key(v.engine, writer.key.id, v.clock)
    for method, path in routes(v):
        if (method, path) in PUBLIC:
            continue
        target = url(path, ids_b, method)
        body = BODIES.get((method, path))
        none = v.client.request(method, target, json=body)
        assert none.status_code == 401, (method, path)
        assert none.headers["www-authenticate"] == "Bearer"
        revoked = v.client.request(
            method, target, json=body, headers={"Authorization": f"Bearer {writer.secret}"}
        )
        assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
        if method != "GET":
            read_only = v.client.request(
                method, target, json=body, headers={"Authorization": f"Bearer {reader}"}
            )
            assert read_only.status_code == 403, (method, path, read_only.text)
    typo = "1" if reader.endswith("0") else "0"  # a different last character, always
    mistyped = v.client.get("/v1/plans", headers={"Authorization": f"Bearer {reader[:-1]}{typo}"})
    assert mistyped.status_code == 401


def test_a_session_is_only_for_an_active_member_who_manages_billing(
    world: tuple[Vendor, dict[str, str], dict[str, str]],
) -> None:
    v, _, _ = world
    refused = v.client.post("/v1/accounts/a/sessions", json={"member": "m1"}, headers=v.auth)
    assert refused.status_code == 403 and "Manage Billing" in refused.json()["detail"]
    unknown = v.client.post("/v1/accounts/a/sessions", json={"member": "zed"}, headers=v.auth)
    assert unknown.status_code == 409
    made = v.call("POST", "/v1/accounts/a/sessions", {"member": "admin"})
    v.clock.instant = datetime(2025, 1, 1, 1, 1, tzinfo=UTC)  # an hour and a minute later
    expired = v.client.get("/v1/accounts/a", headers={"Authorization": f"Bearer {made['token']}"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_a_huge_or_strange_request_is_refused_before_it_costs_anything(
    world: tuple[Vendor, dict[str, str], dict[str, str]],
) -> None:
    v, _, _ = world
    headers = {**v.auth, "content-type": "application/json"}
    huge = v.client.post("/v1/events", content=b" " * 3_000_000, headers=headers)
    assert huge.status_code == 413 and huge.headers["content-type"] == "application/problem+json"
    nul = v.client.post("/v1/billing-runs", content=b'{"account": "b\\u0000"}', headers=headers)
    assert (nul.status_code, nul.json()["detail"]) == (400, "the body holds a NUL character")
    control = v.client.get("/v1/accounts/b%00", headers=v.auth)
    assert control.status_code == 400
    too_many = {
        "events": [{"account": "a", "action": "activate", "member": f"m{i}"} for i in range(1001)]
    }
    assert v.client.post("/v1/events", json=too_many, headers=v.auth).status_code == 422
    naive = v.client.get("/v1/accounts/a/projected-invoice?at=2025-02-01T00:00:00", headers=v.auth)
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "at"


def test_a_field_a_route_does_not_have_is_refused_not_ignored(
    world: tuple[Vendor, dict[str, str], dict[str, str]],
) -> None:
    """Every route that takes a body refuses one with a field it does not have (a misspelt or
    imagined one: a billing run `until` a date, an update of an account's `plan`), naming it,
    and does nothing: answered 200 while ignoring it, it would do something else than asked."""
    v, ids_b, _ = world
    before = v.call("GET", "/v1/accounts/b"), v.all("/v1/invoices"), v.all("/v1/plans")
    for (method, path), body in BODIES.items():
        wrong = {**body, "until": "2025-01-01T00:00:00Z"}
        answer = v.client.request(method, url(path, ids_b, method), json=wrong, headers=v.auth)
        assert answer.status_code == 422, (method, path, answer.text)
        reason = "is not a field of this request (see /docs)"
        assert answer.json()["errors"] == [{"field": "until", "reason": reason}], (method, path)
    item = {"account": "b", "action": "activate", "member": "z", "when": "now"}
    nested = v.client.post("/v1/events", json={"events": [item]}, headers=v.auth)
    assert nested.status_code == 422
    assert [e["field"] for e in nested.json()["errors"]] == ["events[0].when"]
    address = {"billing_address": {"name": "B Ltd", "country": "GB", "vat": "GB1"}}
    patched = v.client.patch("/v1/accounts/b", json=address, headers=v.auth)
    assert [e["field"] for e in patched.json()["errors"]] == ["billing_address.vat"]
    assert (v.call("GET", "/v1/accounts/b"), v.all("/v1/invoices"), v.all("/v1/plans")) == before


def test_a_key_revoked_elsewhere_is_refused_within_a_second(
    world: tuple[Vendor, dict[str, str], dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key found valid is remembered for a second (no lookup per request); revoked by this
    process it is forgotten at once (above), revoked by another (`seatwise keys revoke`, here
    the same update made behind the process's back) it is refused once that second is over."""
    v, _, _ = world
    made = create_key(v.engine, "busy", "write", v.clock)
    headers = {"Authorization": f"Bearer {made.secret}"}
    assert v.client.get("/v1/accounts", headers=headers).status_code == 200
    with v.engine.begin() as connection:
        connection.execute(
            text("UPDATE api_keys SET revoked_at = :at WHERE id = :id"),
            {"at": v.clock.now(), "id": made.key.id},
        )
    assert v.client.get("/v1/accounts", headers=headers).status_code == 200  # remembered
    later = time.monotonic() + KEY_MEMORY_SECONDS + 0.001
    monkeypatch.setattr("seatwise.engine.access.time.monotonic", lambda: later)
    refused = v.client.get("/v1/accounts", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_a_key_revoked_by_this_process_is_refused_at_once_though_remembered(
    world: tuple[Vendor, dict[str, str], dict[str, str]],
) -> None:
    v, _, _ = world
    made = create_key(v.engine, "remembered", "write", v.clock)
    headers = {"Authorization": f"Bearer {made.secret}"}
    assert v.client.get("/v1/accounts", headers=headers).status_code == 200  # now remembered
    revoke_key(v.engine, made.key.id, v.clock)
    refused = v.client.get("/v1/accounts", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
