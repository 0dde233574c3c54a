"""Lists in keyset pages (``?limit=1..100&starting_after=ID``), stable while rows are added:
``{"data": [...], "has_more": bool, "next_cursor": ID or null}``; no OFFSET."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from seatwise.core.errors import FieldError

T = TypeVar("T")
R = TypeVar("R")

Limit = Annotated[int, Query(ge=1, le=100, description="How many to return, 1 to 100.")]
After = Annotated[
    str | None,
    Query(max_length=255, description="The `next_cursor` of the previous page."),
]


class Page(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None


def page(
    rows: Sequence[R], limit: int, cursor: Callable[[R], str], shape: Callable[[R], T]
) -> Page[T]:
    """A page from ``limit + 1`` rows fetched: the extra one says whether there is more."""
    shown = list(rows[:limit])
    more = len(rows) > limit
    return Page[T](
        data=[shape(row) for row in shown],
        has_more=more,
        next_cursor=cursor(shown[-1]) if more and shown else None,
    )


def number_cursor(text: str, reason: str, largest: int) -> int:
    """A cursor that is a whole number (an event's seq, a ledger entry's position, a
    delivery's number): ASCII digits, else 422 with ``reason``. A number past ``largest``
    (the most its column holds) reads as ``largest``: nothing comes after either, and the
    database is never asked about a number it cannot hold."""
    if not (text.isascii() and text.isdigit()):
        raise FieldError("starting_after", reason)
    return min(int(text), largest) if len(text) <= 20 else largest
