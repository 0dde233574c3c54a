"""Benchmark: the pure core against the plain loop in instructions, which do not move with the
machine's speed.

    python bench/core_instructions.py [--sizes 10000] [--presets NAME,…] [--jobs 2] [--out FILE]

``bench/core_scaling.py`` times the core; on a machine whose speed moves by two within seconds
its ratios move by as much. This counts instructions instead, with valgrind's callgrind: for
the plain loop and each preset, a child process makes the same account and events as
``core_scaling.py`` and walks the year ``low`` times, another ``high`` times; the difference
÷ (high − low) is one walk's instructions, the process's start and the events' making
subtracted (hash seed fixed, so both children do the same work up to the walks). The JSON
reports each preset's instructions per walk and per event, and the times the plain loop's.
For ``seats-annual`` it also counts ``core_scaling.priced_reference`` — the plain loop that
also makes the preset's lines, a remaining/unused pair of each change of occupancy with its
amounts and words — and gives the times that (``times_priced_loop``): not the issue's
reference, which counts seats only, but what tells the core's bookkeeping from the lines
SPEC has the preset make. The lines are checked first: the priced loop's must be the core's,
kind, words, count, amount and explanation, or nothing is counted.
Instructions are not time (a cache miss costs more than an addition, and the cycle
collector's passes count as instructions too), but a change that does less shows here
whatever else the machine does. Needs valgrind (``apt-get install valgrind``); a walk runs
about fifty times slower under it.

This is a measurement, not a test: nothing here asserts a count.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from arguments import counts
from callgrind import CALLGRIND, HASH_SEED, collected, counting_parser, require_valgrind
from core_scaling import (
    START,
    YEAR_END,
    member_events,
    preset_plan,
    priced_reference,
    reference,
)
from report import print_and_write

from seatwise.core.account import Account
from seatwise.core.billing import generate_invoices
from seatwise.core.presets import preset_names

PLAIN_LOOP = "plain-loop"
PRICED_LOOP = "priced-loop"  # the plain loop making seats-annual's lines too
PRICED = "seats-annual"
RUNS = {PLAIN_LOOP: (1, 11)}  # the plain loop is short: more walks for a steady difference
WALKS = (1, 3)  # a preset's: once, then three times


def walk(name: str, size: int, times: int) -> None:
    """What a child does: the events, then ``times`` walks of ``name`` over them."""
    events = member_events(size)
    if name in (PLAIN_LOOP, PRICED_LOOP):
        loop = reference if name == PLAIN_LOOP else priced_reference
        for _ in range(times):
            loop(events)
        return
    plan = preset_plan(name)
    account = Account(subscribed_at=START)
    for _ in range(times):
        generate_invoices(plan, account, events, YEAR_END)


def instructions(name: str, size: int, times: int) -> int:
    """The instructions of a child that walks ``times`` times, counted by callgrind."""
    command = [*CALLGRIND, sys.executable, __file__, "--child", name, str(size), str(times)]
    environment = {**os.environ, **HASH_SEED}
    finished = subprocess.run(command, capture_output=True, text=True, env=environment)
    found = collected(finished.stderr)
    if finished.returncode != 0 or found is None:
        tail = "\n".join(finished.stderr.splitlines()[-5:])
        raise SystemExit(f"core_instructions.py: the child {name} {size} {times} failed:\n{tail}")
    return found


def per_walk(name: str, size: int, jobs: ThreadPoolExecutor) -> float:
    low, high = RUNS.get(name, WALKS)
    counted = list(jobs.map(lambda times: instructions(name, size, times), (low, high)))
    return (counted[1] - counted[0]) / (high - low)


def check_priced_lines(size: int) -> None:
    """The priced loop makes exactly the core's remaining/unused lines under PRICED."""
    events = member_events(size)
    result = generate_invoices(preset_plan(PRICED), Account(subscribed_at=START), events, YEAR_END)
    made = [
        (line.kind, line.description, line.quantity, line.amount, line.explanation.summary)
        for invoice in result.invoices
        for line in invoice.lines
        if line.kind in ("remaining_time", "unused_time")
    ]
    if made != priced_reference(events):
        raise SystemExit(f"core_instructions.py: the priced loop's lines are not {PRICED}'s")


def presets_of(text: str) -> list[str]:
    """Preset names separated by commas, each one of :func:`preset_names`."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in preset_names()]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected presets among {', '.join(preset_names())}, not {text!r}"
        )
    return names


def main() -> None:
    parser = counting_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=counts, default="10000")
    parser.add_argument("--presets", type=presets_of, default=",".join(preset_names()))
    args = parser.parse_args()
    if args.child:
        name, size, times = args.child
        walk(name, int(size), int(times))
        return
    require_valgrind(parser)
    results: list[dict[str, Any]] = []
    with ThreadPoolExecutor(args.jobs) as jobs:
        for size in args.sizes:
            loop = per_walk(PLAIN_LOOP, size, jobs)
            row: dict[str, Any] = {"events": size, "plain_loop_instructions": round(loop)}
            priced = None
            if PRICED in args.presets:
                check_priced_lines(size)
                priced = per_walk(PRICED_LOOP, size, jobs)
                row["priced_loop_instructions"] = round(priced)
            for name in args.presets:
                counted = per_walk(name, size, jobs)
                row[name] = {
                    "instructions": round(counted),
                    "instructions_per_event": round(counted / size),
                    "times_plain_loop": round(counted / loop, 2),
                }
                if name == PRICED and priced is not None:
                    row[name]["times_priced_loop"] = round(counted / priced, 2)
            results.append(row)
            print(json.dumps(row), flush=True)
    print_and_write("core_instructions", args.out, results=results)


if __name__ == "__main__":
    main()
