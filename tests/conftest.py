"""Both databases: every test taking ``database_url`` runs on SQLite and on PostgreSQL.

PostgreSQL is reached at ``SEATWISE_TEST_POSTGRES_URL`` (default the CI server,
postgresql://postgres@127.0.0.1:5432/test); each test gets a fresh database of its own. On CI
(``CI=true``) an unreachable server fails the tests; elsewhere they are skipped, with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

ADMIN_URL = os.environ.get(
    "SEATWISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(ADMIN_URL)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except OperationalError as error:
        return f"PostgreSQL unreachable at {ADMIN_URL}: {str(error).splitlines()[0]}"
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'seatwise.db'}"
        return
    problem = _postgres_problem()
    if problem is not None:
        if ON_CI:
            pytest.fail(f"{problem} (CI=true: the PostgreSQL tests are mandatory)")
        pytest.skip(problem)
    name = f"seatwise_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
