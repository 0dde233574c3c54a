"""Database faults under a real command: PostgreSQL's connections cut mid-run, an SQLite file
locked by another process. Each gives one line saying what happened and that running again is
safe; nothing is half-done, and running again finishes the work exactly once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, select, text

from seatwise.cli import example_files
from seatwise.engine.importing import import_scenario
from seatwise.scenario import parse_scenario
from seatwise.store.database import make_engine, migrate
from seatwise.store.tables import invoices

UNTIL = "2026-02-15T00:00:00Z"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "seatwise.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def numbers(url: str) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        found = list(connection.scalars(select(invoices.c.number)))
    engine.dispose()
    return sorted(found)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_connections_cut_mid_run(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    examples = example_files()
    for index in range(300):
        name, story = examples[index % len(examples)]
        import_scenario(engine, parse_scenario(story, name), f"a{index:03d}", engine_now())
    admin = create_engine(
        database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
    )
    database = database_url.rsplit("/", 1)[1]
    billing = run("bill", "--until", UNTIL, "--database-url", database_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and billing.poll() is None:
        with engine.connect() as connection:
            issued = connection.execute(select(func.count()).select_from(invoices)).scalar_one()
        if issued >= 50:
            break
        time.sleep(0.05)
    with admin.connect() as connection:  # as a restart of the server would
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": database},
        )
    admin.dispose()
    engine.dispose()
    _out, err = billing.communicate(timeout=120)
    assert billing.returncode == 1, err
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert "could not be reached" in line and "run the command again" in line
    again = run("bill", "--until", UNTIL, "--database-url", database_url)
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    issued = numbers(database_url)
    assert issued == [f"INV-{n:06d}" for n in range(1, len(issued) + 1)]  # no gap, no repeat


def engine_now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_sqlite_file_locked_by_another_process(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    name, story = example_files()[1]
    import_scenario(engine, parse_scenario(story, name), "initech", engine_now())
    engine.dispose()
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        blocked = run(
            "event", "initech", "activate", "zoe", "--database-url", database_url,
            env={"SEATWISE_SQLITE_BUSY_SECONDS": "1"},
        )  # fmt: skip
        _out, err = blocked.communicate(timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert blocked.returncode == 1 and "Traceback" not in err
    assert err.strip().splitlines() == [
        "error: the SQLite database stayed locked by another process: nothing was changed; "
        "run the command again when it is done"
    ]
    done = run("event", "initech", "activate", "zoe", "--database-url", database_url)
    assert done.wait(timeout=60) == 0
