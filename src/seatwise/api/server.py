"""What ``seatwise serve`` runs: the API over the database named by the environment, so that
every uvicorn worker process builds its own engine."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from seatwise.api.app import create_app
from seatwise.engine.collection import configured_gateway
from seatwise.store.database import open_store


def app_from_environment() -> FastAPI:
    """The app over ``$SEATWISE_DATABASE_URL`` (checked and migrated, or the worker stops
    with one line saying why), with the configured payment gateway."""
    logging.getLogger("seatwise").setLevel(logging.INFO)
    return create_app(open_store(), gateway=configured_gateway())
