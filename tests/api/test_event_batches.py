"""``POST /v1/events`` and ``POST /v1/accounts/{id}/events`` read their bodies in one pass
(``api/bodies.py``): what they accept and answer, and what they refuse, are those of a route
FastAPI validates itself, and who calls is checked before what is sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers import Vendor, vendor, with_seats_account
from sqlalchemy import text


@pytest.fixture
def v(database_url: str) -> Vendor:
    return with_seats_account(database_url)


def post(v: Vendor, content: bytes, media: str = "application/json") -> Any:
    return v.client.post("/v1/events", content=content, headers={**v.auth, "Content-Type": media})


def test_a_batch_is_answered_item_by_item(v: Vendor) -> None:
    body = (
        b'{"events": [{"id": "e1", "account": "a", "action": "activate", "member": "ana",'
        b' "at": "2025-01-02T10:00:00+01:00"},'
        b' {"account": "a", "action": "deactivate", "member": "nobody"}]}'
    )
    answer = post(v, body)
    assert answer.status_code == 200
    assert answer.json() == {
        "results": [
            {
                "id": "e1",
                "account": "a",
                "status": "accepted",
                "reason": None,
                "seq": 1,
                "at": "2025-01-02T09:00:00Z",
                "replayed": False,
            },
            {
                "id": None,
                "account": "a",
                "status": "refused",
                "reason": (
                    "member 'nobody' at 2025-01-02T09:00:00Z: cannot deactivate a member who "
                    "does not exist"
                ),
                "seq": None,
                "at": None,
                "replayed": False,
            },
        ]
    }


@pytest.mark.parametrize(
    ("content", "media", "field", "reason"),
    [
        (b'{"events": [{"account": "a", "action": "fly"}]}', "application/json",
         "events[0].action", "Input should be 'invite', 'activate'"),
        (b'{"events": [{"account": "a", "action": "activate", "at": "2025-01-02T10:00:00"}]}',
         "application/json", "events[0].at", "Input should have timezone info"),
        (b'{"events": []}', "application/json", "events", "at least 1 item"),
        (b'{"events": [', "application/json", "body", "Invalid JSON"),
        (b"", "application/json", "body", "Invalid JSON"),
        (b'{"events": [{"account": "a", "action": "activate", "member": "m"}]}', "text/plain",
         "body", "Input should be a valid dictionary or object to extract fields from"),
        (b'{"events": []}', "application/x-www-form-urlencoded",  # curl -d without -H
         "body", "Input should be a valid dictionary or object to extract fields from"),
    ],
)  # fmt: skip
def test_a_bad_batch_is_a_422_problem_and_records_nothing(
    v: Vendor, content: bytes, media: str, field: str, reason: str
) -> None:
    answer = post(v, content, media)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 422
    assert problem["errors"][0]["field"] == field
    assert reason in problem["errors"][0]["reason"]
    assert v.call("GET", "/v1/accounts/a/timeline")["data"] == []


@pytest.mark.parametrize(
    ("content", "media", "field", "reason"),
    [
        (b'{"action": "fly", "member": "m"}', "application/json",
         "action", "Input should be 'invite', 'activate'"),
        (b'{"action": "activate", "member": "m", "at": "2025-01-02T10:00:00"}',
         "application/json", "at", "Input should have timezone info"),
        (b'{"action": "activate", "member": "m", "credits": 0}', "application/json",
         "credits", "greater than or equal to 1"),
        (b'{"action": "activate", "member": "m", "manage_billing": "yes"}', "application/json",
         "manage_billing", "Input should be a valid boolean"),
        (b'["activate"]', "application/json",
         "body", "Input should be an object"),
        (b'{"action": ', "application/json", "body", "Invalid JSON"),
        (b'{"action": "activate", "member": "m"}', "application/x-www-form-urlencoded",
         "body", "Input should be a valid dictionary or object to extract fields from"),
    ],
)  # fmt: skip
def test_a_bad_single_event_is_a_422_problem_and_records_nothing(
    v: Vendor, content: bytes, media: str, field: str, reason: str
) -> None:
    answer = v.client.post(
        "/v1/accounts/a/events", content=content, headers={**v.auth, "Content-Type": media}
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["errors"][0]["field"] == field
    assert reason in problem["errors"][0]["reason"]
    assert v.call("GET", "/v1/accounts/a/timeline")["data"] == []


@pytest.mark.parametrize("path", ["/v1/accounts/a/events", "/v1/events"])
def test_who_calls_is_checked_before_what_is_sent(v: Vendor, path: str) -> None:
    """No key: 401; a read key: 403 — whatever the body, even one that is not JSON."""
    garbage = {"content": b"{not json", "headers": {"Content-Type": "application/json"}}
    assert v.client.post(path, **garbage).status_code == 401  # type: ignore[arg-type]
    reader = vendor(v.engine, v.clock.instant, "read")
    headers = {**reader.auth, "Content-Type": "application/json"}
    answer = v.client.post(path, content=b"{not json", headers=headers)
    assert answer.status_code == 403
    assert answer.json()["detail"] == "this key's scope is read; this needs write"


def test_a_batch_of_more_than_1000_is_refused(v: Vendor) -> None:
    one = b'{"account": "a", "action": "activate", "member": "m"}'
    answer = post(v, b'{"events": [' + b",".join([one] * 1001) + b"]}")
    assert answer.status_code == 422
    assert answer.json()["errors"][0] == {
        "field": "events",
        "reason": "List should have at most 1000 items after validation, not 1001",
    }


def test_each_account_s_members_are_checked_against_their_own_history(v: Vendor) -> None:
    """Members are read for the (account, member) pairs a batch names: "ana" of account a is
    not "ana" of account b, and a member's history decides what may happen to them next."""
    v.call("POST", "/v1/accounts", {"id": "b", "plan": "p", "payment_method": "succeeds"})
    events = [
        {"id": "e1", "account": "a", "action": "activate", "member": "ana"},
        {"id": "e2", "account": "a", "action": "activate", "member": "ben"},
        {"id": "e3", "account": "b", "action": "activate", "member": "cy"},
    ]
    v.call("POST", "/v1/events", {"events": events})
    v.clock.instant = datetime(2025, 1, 3, 9, tzinfo=UTC)
    events = [
        {"id": "e4", "account": "b", "action": "deactivate", "member": "ana"},
        {"id": "e5", "account": "a", "action": "deactivate", "member": "ana"},
        {"id": "e6", "account": "a", "action": "activate", "member": "ben"},
        {"id": "e7", "account": "b", "action": "activate", "member": "ben"},
        {"id": "e8", "account": "a", "action": "deactivate", "member": "ana"},
        {"id": "e1", "account": "b", "action": "activate", "member": "dee"},
    ]
    results = v.call("POST", "/v1/events", {"events": events})["results"]
    assert [(r["status"], r["seq"], r["replayed"]) for r in results] == [
        ("refused", None, False),
        ("accepted", 3, False),
        ("refused", None, False),
        ("accepted", 2, False),
        ("refused", None, False),
        ("accepted", 3, False),  # e1 was account a's id: for account b it is a new one
    ]
    assert results[0]["reason"].endswith("cannot deactivate a member who does not exist")
    assert results[2]["reason"].endswith("cannot activate a member who is active")
    assert results[4]["reason"].endswith("cannot deactivate a member who is deactivated")


def test_a_refused_event_does_not_move_the_member_s_latest_instant(v: Vendor) -> None:
    """A member's later, refused event is forgotten: an earlier one after it in the batch is
    checked against what the member's history really holds."""
    v.call("POST", "/v1/events", {"events": [{"account": "a", "action": "activate", "member": "ana",
                                              "at": "2025-01-02T08:00:00Z"}]})  # fmt: skip
    events = [
        {"account": "a", "action": "activate", "member": "ana", "at": "2025-01-02T08:50:00Z"},
        {"account": "a", "action": "deactivate", "member": "ana", "at": "2025-01-02T08:30:00Z"},
    ]
    results = v.call("POST", "/v1/events", {"events": events})["results"]
    assert [(r["status"], r["seq"]) for r in results] == [("refused", None), ("accepted", 2)]
    assert results[0]["reason"].endswith("cannot activate a member who is active")


def test_a_large_batch_over_several_accounts_reads_each_account_s_own(v: Vendor) -> None:
    """The members and ids of a batch's accounts are read together (``bulk.rows_among``):
    every account still sees only its own members and ids, not another's of the same name."""
    for account in ("b", "c"):
        v.call("POST", "/v1/accounts", {"id": account, "plan": "p", "payment_method": "succeeds"})
    v.clock.instant = datetime(2025, 1, 2, 10, tzinfo=UTC)  # after their first invoices
    first = [
        {"id": f"{a}{n}", "account": a, "action": "activate", "member": f"{a}-{n}"}
        for a in ("a", "b", "c")
        for n in range(60)
    ] + [{"id": "x1", "account": "a", "action": "activate", "member": "x"}]
    assert {r["status"] for r in v.call("POST", "/v1/events", {"events": first})["results"]} == {
        "accepted"
    }
    v.clock.instant = datetime(2025, 1, 3, 9, tzinfo=UTC)
    second = [
        {"id": f"d{a}{n}", "account": a, "action": "deactivate", "member": f"{a}-{n}"}
        for a in ("a", "b", "c")
        for n in range(60)
    ] + [
        {"id": "x1", "account": "a", "action": "activate", "member": "x"},  # a retry
        {"id": "x1", "account": "b", "action": "deactivate", "member": "x"},  # b has no x
        {"id": "a0", "account": "b", "action": "deactivate", "member": "a-0"},  # nor a-0
    ]
    results = v.call("POST", "/v1/events", {"events": second})["results"]
    assert [r["status"] for r in results[:180]] == ["accepted"] * 180
    assert [r["seq"] for r in results[:180:60]] == [62, 61, 61]
    assert (results[180]["status"], results[180]["replayed"], results[180]["seq"]) == (
        "accepted",
        True,
        61,
    )
    assert [r["status"] for r in results[181:]] == ["refused", "refused"]
    assert all(r["reason"].endswith("a member who does not exist") for r in results[181:])


UNUSUAL_IDS = ['a"b', "a\\b", "ana é", "💳 card", " lead", "trail ", "[1, 2]", '{"x": 1}', "a'b"]


def test_members_and_ids_of_any_printable_text_are_found_again_in_a_later_batch(
    v: Vendor,
) -> None:
    """A batch's (account, member) and (account, id) pairs are looked up together, passed to
    SQLite as one JSON text: quotes, backslashes, brackets and any script come back exactly
    (a member not found would be refused: 'cannot deactivate a member who does not exist';
    an id not found would be recorded twice)."""
    first = [
        {"id": f"id {name}", "account": "a", "action": "activate", "member": name}
        for name in UNUSUAL_IDS
    ]
    results = v.call("POST", "/v1/events", {"events": first})["results"]
    assert [r["status"] for r in results] == ["accepted"] * len(UNUSUAL_IDS)
    v.clock.instant = datetime(2025, 1, 2, 10, tzinfo=UTC)
    again = v.call("POST", "/v1/events", {"events": first})["results"]
    assert [(r["replayed"], r["seq"]) for r in again] == [(True, r["seq"]) for r in results]
    later = [
        {"id": f"out {name}", "account": "a", "action": "deactivate", "member": name}
        for name in UNUSUAL_IDS
    ]
    answers = v.call("POST", "/v1/events", {"events": later})["results"]
    assert [(r["status"], r["reason"]) for r in answers] == [("accepted", None)] * len(UNUSUAL_IDS)
    timeline = v.call("GET", "/v1/accounts/a/timeline?limit=100")["data"]
    assert [(e["action"], e["member"]) for e in timeline] == [
        ("activate", name) for name in UNUSUAL_IDS
    ] + [("deactivate", name) for name in UNUSUAL_IDS]


def test_an_instant_is_answered_and_kept_in_utc_to_the_microsecond(v: Vendor) -> None:
    """The answer's instant is the event's in UTC, with its microseconds, the first time and
    on a retry of its id (whose answer is the one kept in the store)."""
    event = {
        "id": "e7",
        "account": "a",
        "action": "activate",
        "member": "ana",
        "at": "2025-01-02T10:30:00.000250+02:00",
    }
    first = v.call("POST", "/v1/events", {"events": [event]})["results"][0]
    again = v.call("POST", "/v1/events", {"events": [event]})["results"][0]
    retried = v.call(
        "POST", "/v1/accounts/a/events", {k: event[k] for k in event if k != "account"}
    )
    assert (first["at"], first["replayed"]) == ("2025-01-02T08:30:00.000250Z", False)
    assert (again["at"], again["replayed"]) == ("2025-01-02T08:30:00.000250Z", True)
    assert (retried["at"], retried["replayed"]) == ("2025-01-02T08:30:00.000250Z", True)
    with v.engine.connect() as connection:
        kept = connection.execute(text("SELECT result FROM event_ids")).scalar_one()
    assert json.loads(kept) == {
        "status": "accepted",
        "reason": None,
        "seq": 1,
        "at": "2025-01-02T08:30:00.000250Z",
    }
    whole = v.call(
        "POST",
        "/v1/events",
        {"events": [{**event, "id": "e8", "member": "ben", "at": "2025-01-02T09:00:00Z"}]},
    )
    assert whole["results"][0]["at"] == "2025-01-02T09:00:00Z"  # no microseconds: none written
