"""Every scenario file here is billed by the engine (on an in-memory store, as `seatwise
simulate` does) and compared with its hand-written `expect:` block, and with the pure core."""

from __future__ import annotations

from pathlib import Path

import pytest

from seatwise.engine.simulation import simulate
from seatwise.expectations import mismatches
from seatwise.scenario import load_scenario
from seatwise.scenario_result import document, run_scenario

HERE = Path(__file__).parent
FILES = sorted(HERE.glob("*.yaml"))


def test_there_are_enough_scenarios() -> None:
    assert len(FILES) >= 25


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_matches_its_expectation(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.expect is not None, f"{path.name} has no expect: block"
    doc = document(simulate(scenario))
    assert mismatches(scenario.expect, doc) == []
    assert doc == document(run_scenario(scenario))  # the engine adds nothing to the core
