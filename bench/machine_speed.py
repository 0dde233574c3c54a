"""How fast this machine's processor is at the moment: its speed moves by up to 2× within
minutes, so every benchmark times this beside its phases, and runs are compared through it."""

from __future__ import annotations

import functools
import time

from core_scaling import member_events, reference

from seatwise.core.seat_timeline import MemberChange


@functools.cache
def _plain_loop_events() -> list[MemberChange]:
    return member_events(20_000)


def plain_loop_seconds() -> float:
    """The plain loop of ``bench/core_scaling.py`` over 20,000 member events, best of 5: pure
    Python that no change to Seatwise touches. Measured beside each phase, it says how fast
    this machine's processor was then, so that runs can be compared where the machine's
    speed moves: a rate × these seconds."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        reference(_plain_loop_events())
        best = min(best, time.perf_counter() - started)
    return best
