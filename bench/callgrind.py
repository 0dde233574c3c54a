"""What the benchmarks that count instructions share (``core_instructions.py``,
``billing_instructions.py``): their common arguments, valgrind's command and its count.

Each runs children of its own script, under callgrind, with Python's hash seed fixed (so two
children do the same work up to what they are asked to do differently), and takes the
difference of their counts."""

from __future__ import annotations

import argparse
import re
import shutil

from arguments import out_file, positive

COLLECTED = re.compile(r"Collected : (\d+)")
CALLGRIND = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
HASH_SEED = {"PYTHONHASHSEED": "0"}


def counting_parser(description: str) -> argparse.ArgumentParser:
    """A parser with what every counting benchmark takes: ``--jobs`` (children run at once),
    ``--out`` and the hidden ``--child`` (three words: what a child is asked to do)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--jobs", type=positive, default=2, help="children run at once")
    parser.add_argument("--out", type=out_file)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    return parser


def require_valgrind(parser: argparse.ArgumentParser) -> None:
    """One line saying what to install (exit 2) where valgrind is missing."""
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install valgrind)")


def collected(output: str) -> int | None:
    """The instructions callgrind counted, from a child's output; None if it said none."""
    found = COLLECTED.search(output)
    return int(found.group(1)) if found else None
