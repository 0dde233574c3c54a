"""A process that works long sets Python's collector for it (``seatwise.heap``): ``seatwise
serve``'s workers (``tests/api/test_server_process.py``) and ``seatwise bill``, here."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from seatwise import heap
from seatwise.cli import main
from seatwise.store.database import migrate


@pytest.fixture
def collector_restored() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_settling_freezes_what_exists_and_examines_the_young_less_often(
    collector_restored: None,
) -> None:
    before = gc.get_threshold()
    kept = [object() for _ in range(3)]  # noqa: F841 - alive when the heap is settled
    heap.settle_for_work()
    assert gc.get_threshold() == (50_000, before[1], before[2])
    assert heap.YOUNG_OBJECTS == 50_000
    assert gc.get_freeze_count() > 10_000  # the modules imported by the tests, at least


def test_seatwise_bill_settles_the_heap_once_before_it_bills_and_not_when_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/bill.db"
    migrate(url)
    calls: list[str] = []
    monkeypatch.setattr(heap, "settle_for_work", lambda: calls.append("settled"))
    runner = CliRunner()

    refused = runner.invoke(
        main, ["bill", "--until", "2199-01-01T00:00:00Z", "--database-url", url]
    )
    assert refused.exit_code == 2, refused.output
    assert refused.output.startswith("error: until: 2199-01-01T00:00:00Z is in the future")
    assert calls == []  # refused before any work: the process is left as it was

    previewed = runner.invoke(
        main, ["bill", "--preview", "--until", "2025-01-01T00:00:00Z", "--database-url", url]
    )
    assert previewed.exit_code == 0, previewed.output
    assert calls == []  # a preview is one read, not a run

    billed = runner.invoke(main, ["bill", "--until", "2025-01-01T00:00:00Z", "--database-url", url])
    assert billed.exit_code == 0, billed.output
    assert billed.output.startswith("billed 0 account(s) up to 2025-01-01T00:00:00Z")
    assert calls == ["settled"]
