"""The benchmarks refuse a wrong command-line value with argparse's usage and one line saying
what is wrong (exit 2), before anything is stored or measured — never with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize(
    ("script", "arguments", "message"),
    [
        ("ingest.py", ["--clients", "abc"],
         "argument --clients: in 'abc': expected a whole number, not 'abc' (e.g. 1,2,4)"),
        ("ingest.py", ["--databases", "mysql"],
         "argument --databases: expected sqlite, postgresql or sqlite,postgresql, not 'mysql'"),
        ("ingest.py", ["--seconds", "0"], "argument --seconds: expected 1 or more, not 0"),
        ("billing_run.py", ["--accounts", "-3"], "argument --accounts: expected 1 or more, not -3"),
        ("billing_run.py", ["--workers", "1,x"],
         "argument --workers: in '1,x': expected a whole number, not 'x' (e.g. 1,2,4)"),
        ("daily_runs.py", ["--accounts", "many"],
         "argument --accounts: expected a whole number, not 'many'"),
        ("backtest.py", ["--databases", ""],
         "argument --databases: expected sqlite, postgresql or sqlite,postgresql, not ''"),
        ("core_scaling.py", ["--sizes", ""],
         "argument --sizes: expected at least one number (e.g. 1,2,4)"),
        ("core_instructions.py", ["--presets", "seats-annual,gold"],
         "argument --presets: expected presets among active-users-monthly, contract-annual, "
         "licences-annual, seats-annual, seats-monthly, not 'seats-annual,gold'"),
        ("core_instructions.py", ["--jobs", "0"], "argument --jobs: expected 1 or more, not 0"),
        ("billing_instructions.py", ["--accounts", "0"],
         "argument --accounts: expected 1 or more, not 0"),
        ("billing_instructions.py", ["--against", "no-such-revision"],
         "argument --against: no commit 'no-such-revision' in this repository"),
        ("core_scaling.py", ["--out", "/no/such/folder/core.json"],
         "argument --out: no folder '/no/such/folder' to write 'core.json' in"),
        ("billing_run.py", ["--out", "/"], "argument --out: '/' is a folder, not a file"),
    ],
)  # fmt: skip
def test_a_wrong_value_is_one_line_and_exit_2(
    script: str, arguments: list[str], message: str
) -> None:
    finished = subprocess.run(
        [sys.executable, str(BENCH / script), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 2
    assert finished.stderr.splitlines()[-1] == f"{script}: error: {message}"
    assert "Traceback" not in finished.stderr
    assert finished.stdout == ""


@pytest.mark.parametrize("script", ["core_instructions.py", "billing_instructions.py"])
def test_counting_instructions_without_valgrind_says_so(script: str) -> None:
    """Counting instructions runs valgrind: where there is none, one line says what to install."""
    finished = subprocess.run(
        [sys.executable, str(BENCH / script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": str(Path(sys.executable).parent)},  # no valgrind on it
    )
    assert finished.returncode == 2
    assert finished.stderr.splitlines()[-1] == (
        f"{script}: error: valgrind is not installed (apt-get install valgrind)"
    )
    assert "Traceback" not in finished.stderr
