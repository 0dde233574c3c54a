"""What a client is told when the database fails: 503 (run again: nothing was half-done) for a
database that is unreachable; the 500 of an unexpected failure for a value the database
refused to hold, whose words stay in the server's log."""

from __future__ import annotations

import pytest
from helpers import Vendor, with_seats_account
from sqlalchemy.exc import DataError, OperationalError

from seatwise.engine import accounts


@pytest.fixture
def v(database_url: str) -> Vendor:
    return with_seats_account(database_url)


def failing(error: Exception) -> object:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise error

    return fail


def test_an_unreachable_database_is_503_and_says_so(
    v: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = OSError("connection refused")
    monkeypatch.setattr(accounts, "accounts_page", failing(OperationalError("SELECT", {}, refused)))
    answer = v.client.get("/v1/accounts", headers=v.auth)
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert "could not be reached (connection refused)" in answer.json()["detail"]


def test_a_value_the_database_refused_is_an_unexpected_500_without_its_words(
    v: Vendor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    out_of_range = ValueError("integer out of range")
    monkeypatch.setattr(accounts, "accounts_page", failing(DataError("SELECT", {}, out_of_range)))
    answer = v.client.get("/v1/accounts", headers=v.auth)
    assert answer.status_code == 500
    problem = answer.json()
    assert problem["detail"].startswith("an unexpected failure, error id ")
    assert "out of range" not in answer.text
    assert problem["error_id"] in caplog.text and "integer out of range" in caplog.text
