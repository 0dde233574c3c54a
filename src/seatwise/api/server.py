"""What ``seatwise serve`` runs: the API over the database named by the environment, so that
every uvicorn worker process builds its own engine."""

from __future__ import annotations

import gc
import logging

from fastapi import FastAPI

from seatwise.api.app import create_app
from seatwise.engine.gateways import configured_gateway
from seatwise.store.database import open_store

YOUNG_OBJECTS = 50_000  # allocations between two collections of the youngest generation


def app_from_environment() -> FastAPI:
    """The app over ``$SEATWISE_DATABASE_URL`` (checked and migrated, or the worker stops
    with one line saying why), with the configured payment gateway."""
    logging.getLogger("seatwise").setLevel(logging.INFO)
    app = create_app(open_store(), gateway=configured_gateway())
    # What exists now (modules, the app, its routes and models, the engine) lives as long as
    # the process: out of the garbage collector's reach, so that its full collections, which
    # a batch's thousands of objects set off, do not walk it each time (a batch of 1,000
    # events: 39 → 34 ms in-process).
    gc.collect()
    gc.freeze()
    # And the young objects are examined every 50,000 allocations rather than 700: a batch
    # keeps its thousands of requests, results and rows alive until it is answered, and
    # each examination walked them again and moved them to an older generation, to be walked
    # there too (a batch of 1,000 events: 30.5 → 28.5 ms in-process, 38–39 → 35–37 ms of the
    # server's CPU per request over HTTP). Cyclic garbage waits a little longer; nothing else.
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])
    return app
