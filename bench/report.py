"""What every benchmark ends with: its figures as JSON, printed and, with ``--out``, written."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any


def print_and_write(benchmark: str, out: Path | None, **figures: Any) -> None:
    """The benchmark's name, Python's version and the machine, then ``figures`` in the order
    given, as indented JSON: printed, and written to ``out`` when given."""
    output = {
        "benchmark": benchmark,
        "python": platform.python_version(),
        "machine": platform.machine(),
        **figures,
    }
    rendered = json.dumps(output, indent=2)
    print(rendered)
    if out:
        out.write_text(rendered + "\n", encoding="utf-8")
