"""Cursors that are numbers (a timeline's seq, a ledger entry's position, a delivery's
``msg_N``): ASCII digits only, and a number past any the store holds is past every row — an
empty page, never a question the database cannot answer (SQLite: an integer too large for
it, a 500; PostgreSQL: ``integer out of range``). A timeline is asked of an account that
exists: another id is 404, as everywhere else."""

from __future__ import annotations

import pytest
from helpers import Vendor, with_seats_account

PAST_EVERY_ROW = ["2147483648", "9223372036854775808", "9" * 250]
NOT_A_NUMBER = ["１", "٣", "-1", "1.0", "", " 1"]


@pytest.fixture
def v(database_url: str) -> Vendor:
    found = with_seats_account(database_url)
    for member in ("ana", "bo", "cy"):
        found.call("POST", "/v1/accounts/a/events", {"action": "activate", "member": member})
    return found


def test_a_timeline_pages_by_seq_and_a_cursor_past_every_event_is_an_empty_page(
    v: Vendor,
) -> None:
    after_first = v.call("GET", "/v1/accounts/a/timeline?starting_after=1")
    assert [e["member"] for e in after_first["data"]] == ["bo", "cy"]
    for cursor in PAST_EVERY_ROW:
        page = v.call("GET", f"/v1/accounts/a/timeline?starting_after={cursor}")
        assert page == {"data": [], "has_more": False, "next_cursor": None}, cursor


@pytest.mark.parametrize("cursor", NOT_A_NUMBER)
def test_a_timeline_cursor_that_is_not_ascii_digits_is_422(v: Vendor, cursor: str) -> None:
    answer = v.client.get(
        "/v1/accounts/a/timeline", params={"starting_after": cursor}, headers=v.auth
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "starting_after"


def test_the_timeline_of_an_account_that_does_not_exist_is_404(v: Vendor) -> None:
    answer = v.client.get("/v1/accounts/zz/timeline", headers=v.auth)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "no account 'zz'"


def test_ledger_and_delivery_cursors_past_every_row_are_empty_pages(v: Vendor) -> None:
    empty = {"data": [], "has_more": False, "next_cursor": None}
    for cursor in PAST_EVERY_ROW:
        assert v.call("GET", f"/v1/accounts/a/credits/ledger?starting_after={cursor}") == empty
        assert v.call("GET", f"/v1/webhook-deliveries?starting_after=msg_{cursor}") == empty
    for cursor in ("msg_１", "msg_", "42"):
        answer = v.client.get(
            "/v1/webhook-deliveries", params={"starting_after": cursor}, headers=v.auth
        )
        assert answer.status_code == 422, (cursor, answer.text)
