"""What the commands share: the database option, opening the store, instants, JSON out."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click
from sqlalchemy import Engine

from seatwise.core.limits import parse_instant
from seatwise.engine.clock import SystemClock
from seatwise.store.database import open_store

F = TypeVar("F", bound=Callable[..., Any])

DATABASE_OPTION = click.option(
    "--database-url",
    envvar="SEATWISE_DATABASE_URL",
    help="Default: $SEATWISE_DATABASE_URL, else sqlite:///./seatwise.db. "
    "PostgreSQL: postgresql://user@host:5432/dbname",
)


def store(database_url: str | None) -> Engine:
    """The migrated database to work on (never created here: `seatwise migrate` does that)."""
    return open_store(database_url)


def instant(text: str | None, field: str = "--at") -> datetime:
    """An option's instant, or now."""
    if text is None:
        return SystemClock().now()
    return parse_instant(text, field)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
