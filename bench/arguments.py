"""What the benchmarks take on their command lines: a wrong value is argparse's usage line and
one message (exit 2), not a traceback."""

from __future__ import annotations

import argparse
from pathlib import Path

DATABASES = ("sqlite", "postgresql")


def positive(text: str) -> int:
    """A whole number of 1 or more."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, not {number}")
    return number


def counts_or_none(text: str) -> list[int]:
    """Whole numbers of 1 or more separated by commas (``1,2,4``); '' for none."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        return [positive(part) for part in parts]
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"in {text!r}: {error} (e.g. 1,2,4)") from None


def counts(text: str) -> list[int]:
    """Whole numbers of 1 or more separated by commas (``1,2,4``), at least one."""
    found = counts_or_none(text)
    if not found:
        raise argparse.ArgumentTypeError("expected at least one number (e.g. 1,2,4)")
    return found


def databases(text: str) -> list[str]:
    """``sqlite``, ``postgresql`` or both, separated by a comma."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in DATABASES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected sqlite, postgresql or sqlite,postgresql, not {text!r}"
        )
    return names


def out_file(text: str) -> Path:
    """A file to write the JSON to, in a folder that exists (refused before anything is
    measured, not after: a run can take minutes)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"no folder {str(path.parent)!r} to write {path.name!r} in"
        )
    return path
