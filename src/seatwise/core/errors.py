"""Errors of the pure core. Each says what is wrong in words an operator can act on."""

from __future__ import annotations

from datetime import datetime


class SeatwiseError(Exception):
    """Base of every error Seatwise raises on purpose. ``exit_code``: what the command line
    exits with — 2 for input it refuses (nothing was changed), 1 for an operational failure
    (a database or server that cannot be reached)."""

    exit_code = 2


class FieldError(SeatwiseError):
    """Bad input in one named field: ``field`` is its dotted path (``increases.charge``,
    ``members[3].id``, ``at``), ``reason`` what is wrong with it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


class InvalidAmount(SeatwiseError):
    """A malformed money amount or an unknown currency."""


class PlanError(FieldError):
    """A plan that does not validate. ``path`` names the field, like ``increases.charge``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path


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
