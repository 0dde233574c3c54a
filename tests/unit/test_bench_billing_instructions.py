"""billing_instructions.py's children, without valgrind: one stores the billing benchmark's
accounts with a tree's code, another bills a copy of them and says what it issued (the parent
counts both under callgrind and compares trees by what they issued)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
SOURCE = BENCH.parent / "src"


def child(action: str, path: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SOURCE), str(BENCH)])}
    return subprocess.run(
        [sys.executable, str(BENCH / "billing_instructions.py"), "--child", action, str(path), "3"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )


def test_a_child_stores_the_accounts_and_another_bills_a_copy(tmp_path: Path) -> None:
    stored = tmp_path / "accounts.db"
    child("store", stored)
    assert child("start", stored).stdout == ""
    billed = child("bill", stored).stdout
    found = re.fullmatch(r"billed 3 accounts, (\d+) invoices, (\d+) lines, (\d+) in all\n", billed)
    assert found is not None, billed
    assert 0 < int(found.group(1)) <= int(found.group(2))  # a year: invoices, each with lines
    assert int(found.group(3)) > 0  # what they amount to, in minor units
    assert child("bill", stored).stdout == billed  # each child bills a copy: the store is as it was
    copies = [path.name for path in tmp_path.iterdir() if path.name.startswith("accounts.db.")]
    assert copies == []  # each copy (its WAL and lock files too) removed by its child


def test_a_timed_child_bills_as_a_counted_one_and_says_how_long_its_run_took(
    tmp_path: Path,
) -> None:
    """billing_against.py's child: the same run and report, then its run's seconds."""
    stored = tmp_path / "accounts.db"
    child("store", stored)
    billed = child("bill", stored).stdout
    timed = child("timed", stored).stdout
    assert timed.startswith(billed)
    seconds = re.fullmatch(r"seconds (\d+\.\d{6})\n", timed[len(billed) :])
    assert seconds is not None, timed
    assert 0 < float(seconds.group(1)) < 60
