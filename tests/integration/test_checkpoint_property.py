"""Incremental billing, as a property of the engine (issue 14): for random plans and member
timelines, billing runs at random instants going on from checkpoints leave the store exactly
as the same runs walking every account from its first event — with events reported late
between runs (a new member dated up to 200 days before the run that follows).

The runs from the start read no checkpoint at all (none given to the store's queries). SQLite
only: the engine's queries on PostgreSQL are covered by ``test_checkpoints.py``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from test_only_what_is_due import NOW, contents

from seatwise.core.billing import TimelineEvent
from seatwise.core.errors import SeatwiseError
from seatwise.core.plans import parse_plan
from seatwise.core.seat_timeline import Member, MemberChange
from seatwise.engine.billing_run import bill
from seatwise.engine.importing import import_scenario
from seatwise.engine.recording import record_event
from seatwise.store import repository
from seatwise.store.database import make_engine, migrate
from strategies import START, ZONES, plan_documents, scenario, timelines

ACCOUNT = "prop"


def store(
    url: str, plan: dict[str, Any], events: list[TimelineEvent], committed: int, zone: str
) -> Engine:
    migrate(url)
    engine = make_engine(url)
    case = replace(scenario(parse_plan(plan), events, committed, zone), plan_data=plan)
    import_scenario(engine, case, ACCOUNT, NOW.now())
    return engine


@settings(
    max_examples=int(os.environ.get("CHECKPOINT_ENGINE_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    plan_documents,
    timelines(),
    st.integers(0, 4),
    st.sampled_from(ZONES),
    st.lists(st.integers(1, 60), min_size=2, max_size=10),  # days between runs
    st.lists(st.tuples(st.integers(0, 9), st.integers(1, 200)), max_size=3),  # late hires
)
def test_runs_from_checkpoints_leave_the_store_as_runs_from_the_start(
    tmp_path_factory: pytest.TempPathFactory,
    plan: dict[str, Any],
    events: list[TimelineEvent],
    committed: int,
    zone: str,
    gaps: list[int],
    late_hires: list[tuple[int, int]],
) -> None:
    folder: Path = tmp_path_factory.mktemp("checkpoint-property")
    incremental = store(f"sqlite:///{folder / 'a.db'}", plan, events, committed, zone)
    from_start = store(f"sqlite:///{folder / 'b.db'}", plan, events, committed, zone)
    until = START - timedelta(days=2)
    for index, gap in enumerate(gaps):
        until += timedelta(days=gap)
        for number, (before, days_back) in enumerate(late_hires):
            if before != index:
                continue
            at = max(START, until - timedelta(days=days_back))
            hire = MemberChange(at, f"late{number}", "activate")
            outcomes = []
            for engine in (incremental, from_start):
                try:
                    record_event(engine, ACCOUNT, hire, NOW, Member(hire.member))
                    outcomes.append("recorded")
                except SeatwiseError as error:  # the same refusal in both stores
                    outcomes.append(str(error))
            assert outcomes[0] == outcomes[1]
        bill(incremental, until, clock=NOW)
        with mock.patch.object(repository, "checkpoints_of", lambda connection, ids: {}):
            bill(from_start, until, clock=NOW)
    assert contents(incremental) == contents(from_start)
    incremental.dispose()
    from_start.dispose()
