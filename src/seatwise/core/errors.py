"""Errors of the pure core. Each says what is wrong in words an operator can act on."""

from __future__ import annotations

from datetime import datetime


class SeatwiseError(Exception):
    """Base of every error Seatwise raises on purpose."""


class InvalidAmount(SeatwiseError):
    """A malformed money amount or an unknown currency."""


class PlanError(SeatwiseError):
    """A plan that does not validate. ``path`` names the field, like ``increases.charge``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message


class TimelineError(SeatwiseError):
    """An event that cannot happen: an illegal member transition, time going backwards."""

    def __init__(self, message: str, *, member: str | None = None, at: datetime | None = None):
        parts = []
        if member is not None:
            parts.append(f"member {member!r}")
        if at is not None:
            parts.append(f"at {at.isoformat().replace('+00:00', 'Z')}")
        prefix = " ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.member = member
        self.at = at
        self.reason = message
