"""Lists in keyset pages (``?limit=1..100&starting_after=ID``), stable while rows are added:
``{"data": [...], "has_more": bool, "next_cursor": ID or null}``; no OFFSET."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

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
