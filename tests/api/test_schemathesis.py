"""Schemathesis against the API in-process, every operation of its OpenAPI document, on SQLite
and PostgreSQL: never a 5xx, and every response — successes and problems alike — has a
documented status, content type, headers and a body matching its schema; a request without
credentials is refused. (Schemathesis's guesses of which data the API should accept or refuse
are not checked: the API refuses schema-valid data its rules refuse — an unknown plan, a
payment method the gateway does not know — with a documented 422 or 409.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from helpers import vendor
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from seatwise.api import create_app
from seatwise.store.database import make_engine, migrate

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.ignored_auth,
    checks.missing_required_header,
]
KEY: dict[str, str] = {}


@pytest.fixture
def api(database_url: str) -> Any:
    """The API over a store with a plan, two invoiced accounts and a webhook endpoint."""
    migrate(database_url)
    v = vendor(make_engine(database_url), datetime(2025, 1, 1, tzinfo=UTC))
    definition = {
        "preset": "seats-monthly",
        "currency": "USD",
        "price": "10.00",
        "credits": {"unit_price": "1.00"},
    }
    v.call("POST", "/v1/plans", {"id": "p", "definition": definition})
    members = [{"id": "admin", "manage_billing": True}]
    for account in ("a", "b"):
        v.call(
            "POST",
            "/v1/accounts",
            {"id": account, "plan": "p", "payment_method": "succeeds", "members": members},
        )
    v.call("POST", "/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hooks"})
    KEY["Authorization"] = f"Bearer {v.key}"
    return schemathesis.openapi.from_asgi("/v1/openapi.json", create_app(v.engine, v.clock))


def test_every_operation_answers_as_documented(api: Any) -> None:
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 35
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def answers_as_documented(case: Any) -> None:
            case.call_and_validate(headers=dict(KEY), checks=CHECKS)

        answers_as_documented()
