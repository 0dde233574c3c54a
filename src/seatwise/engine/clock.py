"""The clock is injected: the system clock in production, a fixed one in tests and stories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that says what it is told; ``advance`` moves it."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant
