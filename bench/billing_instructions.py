"""Benchmark: a billing run's instructions per account, this checkout's and another revision's.

    python bench/billing_instructions.py [--accounts 200] [--against REV] [--jobs 2] [--out FILE]

``billing_run.py`` reports accounts/s; on a machine whose speed moves by two within minutes,
two runs of it compare the machine as much as the code, and the code of an earlier day cannot
be timed beside today's. This counts instructions instead, with valgrind's callgrind: for the
source tree of this checkout and, with ``--against``, of another revision (a git worktree made
for the run and removed after it), a child process stores the billing benchmark's accounts
(``year_of_accounts.py``, the same seed: the same accounts and events) with that tree's own
code in a SQLite file. Then two children, counted, each open a copy of that file: one only
connects, the other bills the year in one ``bill`` run. The difference is the run's
instructions, Python's start and the imports subtracted (hash seed fixed, so both do the same
work up to the run). The JSON reports, per tree, the run's instructions, per account, and the
invoices and lines it issued and their total; with ``--against``, how many times this
checkout's instructions the other revision's are (``against_to_this``). The two trees must
issue as many invoices and lines for the same total, or the comparison is refused.

The revision's code is run with this checkout's virtual environment and year_of_accounts.py,
which uses only ``repository.save_plan``, ``save_account``, ``migrate`` and ``bill`` as they
have been since the first billing benchmark. Instructions are not time (a cache miss or a
``fsync`` costs more than an addition), but a change that does less work shows here whatever
else the machine does. Needs valgrind (``apt-get install valgrind``) and git for
``--against``; under valgrind a run is about fifty times slower (200 accounts: a minute or two
a tree).

This is a measurement, not a test: nothing here asserts a count.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from arguments import positive
from callgrind import CALLGRIND, HASH_SEED, collected, counting_parser, require_valgrind
from report import print_and_write

BENCH = Path(__file__).resolve().parent
CHECKOUT = BENCH.parent
BILLED = re.compile(
    r"^billed (\d+) accounts, (\d+) invoices, (\d+) lines, (-?\d+) in all$", re.MULTILINE
)
SEED = 2025  # billing_run.py's default seed


def child(action: str, path: str, count: int) -> None:
    """What a child does, with the tree on its ``PYTHONPATH``: store ``count`` accounts in a
    new file at ``path`` (``store``), or open a copy of it and connect (``start``) or bill the
    year (``bill``; ``timed``, the same and how many seconds the run took)."""
    from sqlalchemy import text
    from year_of_accounts import YEAR_END, load_accounts

    from seatwise.engine import billing_run
    from seatwise.store.database import make_engine, migrate

    if action == "store":
        migrate(f"sqlite:///{path}")
        engine = make_engine(f"sqlite:///{path}")
        load_accounts(engine, count, SEED)
        engine.dispose()
        return
    work = f"{path}.{os.getpid()}"
    shutil.copyfile(path, work)
    engine = make_engine(f"sqlite:///{work}")
    with engine.connect():
        pass
    if action in ("bill", "timed"):
        settle_as_seatwise_bill()
        started = time.perf_counter()
        report = billing_run.bill(engine, YEAR_END)
        seconds = time.perf_counter() - started
        with engine.connect() as connection:  # what they amount to, in minor units
            total = connection.execute(text("SELECT coalesce(sum(total), 0) FROM invoices"))
            amount = total.scalar_one()
        print(
            f"billed {report.accounts} accounts, {report.invoices} invoices, "
            f"{report.lines} lines, {amount} in all"
        )
        if action == "timed":  # billing_against.py's: the run's seconds, its start left out
            print(f"seconds {seconds:.6f}")
    engine.dispose()
    for made in Path(work).parent.glob(f"{Path(work).name}*"):  # the copy, its WAL and lock
        made.unlink()
    # Both children end here, before Python's teardown, which is no part of a run and costs
    # what the process holds: a process that froze its heap (seatwise.heap) tears down for
    # less, and that difference was counted as the run's.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def settle_as_seatwise_bill() -> None:
    """What the tree's own ``seatwise bill`` does before it bills: a tree that has
    ``seatwise.heap`` sets Python's collector for the work; one from before it billed with
    the collector as Python sets it."""
    try:
        from seatwise.heap import settle_for_work
    except ImportError:
        return
    settle_for_work()


def run_child(source: Path, action: str, path: Path, count: int, counted: bool) -> str:
    """Run a child on ``source``; its output (stdout, then stderr)."""
    command = [sys.executable, __file__, "--child", action, str(path), str(count)]
    if counted:
        command = [*CALLGRIND, *command]
    environment = {
        **os.environ,
        **HASH_SEED,
        "PYTHONPATH": os.pathsep.join([str(source), str(BENCH)]),
    }
    finished = subprocess.run(command, capture_output=True, text=True, env=environment)
    if finished.returncode != 0:
        tail = "\n".join(finished.stderr.splitlines()[-5:])
        raise SystemExit(f"billing_instructions.py: the child {action} on {source} failed:\n{tail}")
    return finished.stdout + finished.stderr


def measure(
    revision: str, source: Path, count: int, stored: Path, jobs: ThreadPoolExecutor
) -> dict[str, Any]:
    """The billing run's instructions on the tree ``source`` (the ``src`` folder of
    ``revision``), its accounts stored in a new file ``stored``."""
    run_child(source, "store", stored, count, counted=False)
    outputs = list(
        jobs.map(lambda action: run_child(source, action, stored, count, True), ("start", "bill"))
    )
    start, bill = (collected(output) for output in outputs)
    billed = BILLED.search(outputs[1])
    if start is None or bill is None or billed is None:
        raise SystemExit("billing_instructions.py: callgrind's count was not found")
    run = bill - start
    return {
        "revision": revision,
        "run_instructions": run,
        "instructions_per_account": round(run / count),
        "accounts": int(billed.group(1)),
        "invoices": int(billed.group(2)),
        "lines": int(billed.group(3)),
        "total_minor_units": int(billed.group(4)),
    }


def commit_of(revision: str) -> str | None:
    """The commit ``revision`` names in this repository, or None."""
    if shutil.which("git") is None:  # a copy of the sources, without git: no commits to name
        return None
    found = subprocess.run(
        ["git", "-C", str(CHECKOUT), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() if found.returncode == 0 else None


def against_commit(parser: argparse.ArgumentParser, revision: str | None) -> str | None:
    """The commit ``--against`` names (None when not given); argparse's usage line and one
    message (exit 2) when git is missing or the repository has no such commit."""
    if revision is None:
        return None
    if shutil.which("git") is None:
        parser.error("argument --against: git is not installed (apt-get install git)")
    against = commit_of(revision)
    if against is None:
        parser.error(f"argument --against: no commit {revision!r} in this repository")
    return against


def worktree(revision: str, folder: Path) -> Path:
    """A worktree of ``revision`` in ``folder``; its ``src``."""
    tree = folder / "against"
    subprocess.run(
        ["git", "-C", str(CHECKOUT), "worktree", "add", "--detach", "--quiet", str(tree), revision],
        check=True,
        capture_output=True,
    )
    return tree / "src"


def trees_to_count(against: str | None, folder: Path) -> list[tuple[str, Path]]:
    """Each tree to count, (revision, its ``src``): this checkout as it is (uncommitted
    changes included), named by its commit; then ``against``'s, a worktree in ``folder``
    (which :func:`remove` removes)."""
    trees = [(commit_of("HEAD") or "this checkout", CHECKOUT / "src")]
    if against is not None:
        trees.append((against, worktree(against, folder)))
    return trees


def remove(folder: Path) -> None:
    """``folder`` removed, and the worktree :func:`worktree` made in it, if it did."""
    tree = folder / "against"
    if tree.exists():
        subprocess.run(
            ["git", "-C", str(CHECKOUT), "worktree", "remove", "--force", str(tree)],
            capture_output=True,
        )
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = counting_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=positive, default=200)
    parser.add_argument("--against", help="a git revision to compare with (e.g. c27fff2^)")
    args = parser.parse_args()
    if args.child:
        action, path, count = args.child
        child(action, path, int(count))
        return
    against = against_commit(parser, args.against)
    require_valgrind(parser)
    folder = Path(tempfile.mkdtemp(prefix="seatwise-instructions-"))
    try:
        with ThreadPoolExecutor(args.jobs) as jobs:
            results = []
            for index, (revision, tree) in enumerate(trees_to_count(against, folder)):
                stored = folder / f"tree{index}.db"
                results.append(measure(revision, tree, args.accounts, stored, jobs))
                print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    finally:
        remove(folder)
    figures: dict[str, Any] = {"accounts": args.accounts, "this": results[0]}
    if len(results) > 1:
        this, other = results
        issued = ("invoices", "lines", "total_minor_units")
        if [this[key] for key in issued] != [other[key] for key in issued]:
            raise SystemExit(
                "billing_instructions.py: the two trees issued different invoices "
                f"({', '.join(f'{key} {this[key]} against {other[key]}' for key in issued)}): "
                "their runs do not compare"
            )
        figures["against"] = other
        figures["against_to_this"] = round(other["run_instructions"] / this["run_instructions"], 2)
    print_and_write("billing_instructions", args.out, **figures)


if __name__ == "__main__":
    main()
