"""Benchmark: a billing run's accounts/s, this checkout's code against another revision's,
timed in turn on one machine.

    python bench/billing_against.py [--accounts 1000] [--against c27fff2^] [--rounds 3]
                                    [--out FILE]

``billing_run.py``'s accounts/s move with this machine, whose speed changes by two within
minutes, so a rate measured on one day does not compare with another day's. This times both
codes in the same minutes: each tree stores the billing benchmark's accounts with its own code
in a SQLite file (``year_of_accounts.py``, the same seed, as ``billing_instructions.py``
does); then, ``--rounds`` times, each tree in turn bills a copy of its file in a child
process that times its ``bill`` run (Python's start and the imports left out). The JSON holds
each round's seconds and accounts/s per tree, the plain loop timed before each round, each
round's ratio (the other revision's seconds ÷ this checkout's) and their median. Both trees
must issue the same invoices and lines, for the same total, or the comparison is refused.

The revision's code is run with this checkout's virtual environment and
``year_of_accounts.py``, as ``billing_instructions.py`` runs it (``--against`` is checked out
in a git worktree for the run, and removed after it). The default revision is the day the
scaling work began (``c27fff2^``, the commit before the linear-time core), whose rate issue
14 asks to multiply by five. SQLite only: that day's code reads PostgreSQL in a way whose cost
grows with the store (fixed since), which would measure the store's size, not the code.

This is a measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from arguments import out_file, positive
from billing_instructions import BILLED, CHECKOUT, commit_of, remove, run_child, worktree
from machine_speed import plain_loop_seconds
from report import print_and_write

SECONDS = re.compile(r"^seconds (\d+\.\d+)$", re.MULTILINE)


def timed_run(source: Path, stored: Path, count: int) -> dict[str, Any]:
    """One ``bill`` run of the tree ``source`` over a copy of ``stored``: its seconds and what
    it issued."""
    output = run_child(source, "timed", stored, count, counted=False)
    billed, seconds = BILLED.search(output), SECONDS.search(output)
    if billed is None or seconds is None:
        raise SystemExit(f"billing_against.py: the child on {source} said no run:\n{output}")
    return {
        "seconds": float(seconds.group(1)),
        "issued": [int(billed.group(n)) for n in (1, 2, 3, 4)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=positive, default=1000)
    parser.add_argument("--against", default="c27fff2^", help="a git revision (default c27fff2^)")
    parser.add_argument("--rounds", type=positive, default=3)
    parser.add_argument("--out", type=out_file)
    args = parser.parse_args()
    if shutil.which("git") is None:
        parser.error("git is not installed (apt-get install git)")
    against = commit_of(args.against)
    if against is None:
        parser.error(f"argument --against: no commit {args.against!r} in this repository")
    this = commit_of("HEAD") or "this checkout"
    folder = Path(tempfile.mkdtemp(prefix="seatwise-against-"))
    try:
        trees = {"this": CHECKOUT / "src", "against": worktree(against, folder)}
        stored = {name: folder / f"{name}.db" for name in trees}
        for name, source in trees.items():
            run_child(source, "store", stored[name], args.accounts, counted=False)
        rounds = []
        for number in range(1, args.rounds + 1):
            loop = plain_loop_seconds()
            runs = {
                name: timed_run(source, stored[name], args.accounts)
                for name, source in trees.items()
            }
            if runs["this"]["issued"] != runs["against"]["issued"]:
                raise SystemExit(
                    "billing_against.py: the two trees issued different invoices "
                    f"({runs['this']['issued']} against {runs['against']['issued']}): "
                    "their runs do not compare"
                )
            row = {
                "round": number,
                "plain_loop_seconds": round(loop, 5),
                **{
                    name: {
                        "seconds": round(run["seconds"], 3),
                        "accounts_per_second": round(args.accounts / run["seconds"], 1),
                    }
                    for name, run in runs.items()
                },
                "against_to_this": round(runs["against"]["seconds"] / runs["this"]["seconds"], 2),
            }
            rounds.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        remove(folder)
    accounts, invoices, lines, total = runs["this"]["issued"]
    print_and_write(
        "billing_against",
        args.out,
        accounts=accounts,
        invoices=invoices,
        lines=lines,
        total_minor_units=total,
        this=this,
        against=against,
        rounds=rounds,
        median_against_to_this=statistics.median(row["against_to_this"] for row in rounds),
    )


if __name__ == "__main__":
    main()
