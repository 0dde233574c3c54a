"""Benchmark: the pure core on one big account, against a plain loop over the same events.

    python bench/core_scaling.py [--sizes 1000,10000,50000] [--out FILE]

One account subscribes on 1 January 2025 with 50 members; then N member events spread over
the year (hires, leavers, returns, deletions, as in ``bench/billing_run.py``). For each preset
``generate_invoices`` bills the year (timed, best of ``--runs``) and the JSON reports the
seconds per 1,000 events for each size: flat means linear; and the same with Python's cycle
collector paused, whose passes grow with the heap rather than with the walk. The reference is
a plain loop computing the same seat counts (occupancy after each change, the peak and the
distinct holders of each month) with a dict; the ratio says what the core's bookkeeping costs
on top (explanations, prorations, invoices). The plain loop is timed in turn with each preset
(one run of each, then again: ``reference_seconds_beside``), and the ratio is taken against
that: this machine's speed moves within minutes, and a loop timed once per size, before the
presets, gave ratios that moved with it.

This is a measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from arguments import counts, out_file, positive
from report import print_and_write

from seatwise.core.account import Account
from seatwise.core.billing import generate_invoices
from seatwise.core.plans import Plan, parse_plan
from seatwise.core.presets import preset_names
from seatwise.core.seat_timeline import MemberChange, holds_seat

START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC)
PRICES = {"month": "10.00", "year": "120.00"}


def member_events(count: int, seed: int = 7) -> list[MemberChange]:
    """50 members at the start, then ``count`` changes spread evenly over the year."""
    rng = random.Random(seed)
    events = [MemberChange(START, f"m{index}", "activate") for index in range(1, 51)]
    active = [f"m{index}" for index in range(1, 51)]
    away: list[tuple[str, datetime]] = []  # deactivated members, and when they left
    step = (YEAR_END - START - timedelta(days=1)) / (count + 1)
    next_id = 51
    for index in range(1, count + 1):
        at = START + step * index
        roll = rng.random()
        if roll < 0.40 or not active:
            member, action = f"m{next_id}", "activate"
            next_id += 1
            active.append(member)
        elif roll < 0.70:
            member = active.pop(rng.randrange(len(active)))
            action = "deactivate"
            away.append((member, at))
        elif roll < 0.90 and away:
            member, left = away.pop(rng.randrange(len(away)))
            action = "reactivate"
            if at - left > timedelta(days=180):  # too late to come back (SPEC 2.2)
                action = "delete"
            else:
                active.append(member)
        else:
            member = active.pop(rng.randrange(len(active)))
            action = "delete"
        events.append(MemberChange(at, member, action))
    return events


def preset_plan(name: str) -> Plan:
    """The preset ``name`` at the benchmark's price (a year's or a month's, by its interval)."""
    return parse_plan({"preset": name, "price": PRICES["year" if "annual" in name else "month"]})


def reference(events: list[MemberChange]) -> tuple[int, int, list[int]]:
    """The same seat counts by a plain loop: occupancy at the end, the peak, and the distinct
    members holding a seat in each calendar month."""
    state: dict[str, str] = {}
    held = peak = 0
    months: list[set[str]] = [set() for _ in range(12)]
    after = {"activate": "active", "reactivate": "active", "deactivate": "deactivated"}
    for change in events:
        before = state.get(change.member)
        now = after.get(change.action, "deleted")
        state[change.member] = now
        held += int(holds_seat(now, False)) - int(before is not None and holds_seat(before, False))
        peak = max(peak, held)
        if holds_seat(now, False):
            months[change.at.month - 1].add(change.member)
    return held, peak, [len(month) for month in months]


SEAT_YEAR_MINOR = 12_000  # ``seats-annual`` at PRICES["year"], in minor units


def priced_reference(events: list[MemberChange]) -> list[tuple[str, str, int, int, str]]:
    """The plain loop, and each later change of occupancy priced as ``seats-annual`` prices
    it (SPEC 2.3 and 5): a ``remaining_time`` line for the new count and an ``unused_time``
    line for the old one, from the change's date to the term's end (the benchmark's year, in
    UTC) by day, each rounded once, half up (away from zero), with the same words as the
    core's. Each line a tuple (kind, words, count, amount, why). Not the issue's reference,
    which counts seats only: a measure of what ``seats-annual`` must make at the least, so
    that the core's bookkeeping beyond it can be told from the lines themselves."""
    state: dict[str, str] = {}
    held = 0
    lines: list[tuple[str, str, int, int, str]] = []
    after = {"activate": "active", "reactivate": "active", "deactivate": "deactivated"}
    term_end = YEAR_END.date()
    whole = (term_end - START.date()).days
    dates: dict[date, str] = {}
    for change in events:
        before = state.get(change.member)
        now = after.get(change.action, "deleted")
        state[change.member] = now
        old = held
        held += int(holds_seat(now, False)) - int(before is not None and holds_seat(before, False))
        if held == old or change.at == START:  # no seat moved, or the first invoice's seats
            continue
        day = change.at.date()
        words = dates.get(day)
        if words is None:
            words = dates[day] = f"{day.day} {day.strftime('%b %Y')}"
        left = (term_end - day).days
        why = (
            f"Seats went from {old} to {held} on {words} ({change.member} {change.action}d); "
            f"priced for {left}/{whole} days of the term 1 Jan 2025 – 1 Jan 2026."
        )
        for kind, text, count, sign in (
            ("remaining_time", "Remaining time on", held, 1),
            ("unused_time", "Unused time on", old, -1),
        ):
            if count:
                whole_units, rest = divmod(count * SEAT_YEAR_MINOR * left, whole)
                amount = sign * (whole_units + (2 * rest >= whole))
                lines.append((kind, f"{text} {count} × Seat after {words}", count, amount, why))
    return lines


def best_of(runs: int, work: Callable[[], object], collector: bool = True) -> float:
    """The shortest of ``runs`` runs; with ``collector`` False, Python's cycle collector is
    paused while each runs (its passes over the whole heap grow with the heap, not with the
    walk: this separates the two)."""
    return best_alternating(runs, [work], collector)[0]


def best_alternating(
    runs: int, works: list[Callable[[], object]], collector: bool = True
) -> list[float]:
    """The shortest of ``runs`` runs of each of ``works``, run in turn (one of each, then
    again): a machine whose speed moves within minutes moves for all of them alike, so
    their ratios hold where seconds measured apart do not."""
    best = [float("inf")] * len(works)
    for _ in range(runs):
        for index, work in enumerate(works):
            if not collector:
                gc.disable()
            try:
                started = time.perf_counter()
                work()
                best[index] = min(best[index], time.perf_counter() - started)
            finally:
                gc.enable()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=counts, default="1000,10000,50000")
    parser.add_argument("--runs", type=positive, default=3)
    parser.add_argument("--out", type=out_file)
    args = parser.parse_args()
    sizes: list[int] = args.sizes
    account = Account(subscribed_at=START)
    results: list[dict[str, Any]] = []
    for size in sizes:
        events = member_events(size)
        loop = best_of(args.runs, partial(reference, events))
        row: dict[str, Any] = {
            "events": size,
            "reference_seconds": round(loop, 5),
            "presets": {},
        }
        for name in preset_names():
            plan = preset_plan(name)

            bill = partial(generate_invoices, plan, account, events, YEAR_END)
            plain = partial(reference, events)
            seconds, beside = best_alternating(args.runs, [bill, plain])
            paused = best_of(args.runs, bill, collector=False)
            row["presets"][name] = {
                "seconds": round(seconds, 4),
                "seconds_per_1000_events": round(seconds * 1000 / size, 5),
                "seconds_per_1000_events_collector_paused": round(paused * 1000 / size, 5),
                "reference_seconds_beside": round(beside, 5),
                "times_reference": round(seconds / beside, 1),
            }
        results.append(row)
        print(json.dumps(row), flush=True)
    print_and_write("core_scaling", args.out, results=results)


if __name__ == "__main__":
    main()
