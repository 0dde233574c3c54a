"""What ``seatwise serve`` sets up in each worker process besides the app
(``api/server.py``): the garbage collector is kept off what lives as long as the process and
examines the young objects less often (a batch keeps thousands alive until it is answered)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from seatwise.api.server import app_from_environment
from seatwise.heap import YOUNG_OBJECTS
from seatwise.store.database import migrate


def test_a_worker_freezes_what_it_built_and_collects_young_objects_less_often(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/serve.db"
    migrate(url)
    monkeypatch.setenv("SEATWISE_DATABASE_URL", url)
    before = gc.get_threshold()
    try:
        app = app_from_environment()
        assert app.openapi_url == "/v1/openapi.json"
        assert gc.get_threshold() == (YOUNG_OBJECTS, before[1], before[2])
        assert YOUNG_OBJECTS == 50_000
        assert gc.get_freeze_count() > 10_000  # the modules, the app and its models
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
