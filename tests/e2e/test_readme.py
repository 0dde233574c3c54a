"""The README's promises, run as printed: its library snippets, one after the other, in an
empty folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).parents[2] / "README.md"


def python_snippets(section: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)


def test_every_library_snippet_runs_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    snippets = python_snippets("Library use")
    assert len(snippets) == 3
    namespace: dict[str, Any] = {}
    for snippet in snippets:
        exec(compile(snippet, "README.md", "exec"), namespace)
    credits, engine, clock = namespace["credits"], namespace["engine"], namespace["clock"]
    wallet = credits.wallet(engine, "acme", clock.now())
    assert (wallet.balance, wallet.assigned) == (95, 0)
    assert namespace["result"].invoices[0].total == 864000
    assert (tmp_path / "seatwise.db").exists()


def test_the_scenario_format_example_simulates(tmp_path: Path) -> None:
    """The README's annotated scenario is a valid scenario (its `expect: {...}` stands for a
    block of expectations, so it is not checked)."""
    from seatwise.engine.simulation import simulate
    from seatwise.scenario import document, parse_scenario

    text = README.read_text(encoding="utf-8").split("## Scenario files\n", 1)[1]
    (example,) = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)[:1]
    doc = document(simulate(parse_scenario(example, "README.md")))
    statuses = {i["number"]: (i["kind"], i["status"]) for i in doc["invoices"]}
    assert statuses["INV-000005"] == ("credits", "paid")  # sold on an invoice, paid by hand
    assert doc["account"]["credits"] == {"balance": 149, "assigned": 0}
