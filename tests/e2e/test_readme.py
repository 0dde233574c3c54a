"""The README's promises, run as printed: its library snippets, one after the other, in an
empty folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).parents[2] / "README.md"


def python_snippets(section: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)


def run_shell_snippet(heading: str, folder: Path, timeout: int) -> subprocess.CompletedProcess[str]:
    """The one `sh` block of the README's section ``heading`` (a level-2 heading's text, its
    start), run by bash in ``folder`` as a reader would paste it: this environment's commands
    on the path, no database named beforehand; it must exit 0."""
    text = README.read_text(encoding="utf-8").split(f"## {heading}", 1)[1]
    (script,) = re.findall(r"```sh\n(.*?)```", text.split("\n## ", 1)[0], flags=re.DOTALL)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("SEATWISE_DATABASE_URL", None)
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return done


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
    from seatwise.scenario import parse_scenario
    from seatwise.scenario_result import document

    text = README.read_text(encoding="utf-8").split("## Scenario files\n", 1)[1]
    (example,) = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)[:1]
    doc = document(simulate(parse_scenario(example, "README.md")))
    statuses = {i["number"]: (i["kind"], i["status"]) for i in doc["invoices"]}
    assert statuses["INV-000005"] == ("credits", "paid")  # sold on an invoice, paid by hand
    assert doc["account"]["credits"] == {"balance": 149, "assigned": 0}


def test_the_http_walkthrough_runs_as_printed(tmp_path: Path) -> None:
    """`Integrate over HTTP`, copied and pasted into a shell: from an empty database to a
    paid invoice and a projected invoice, against `seatwise serve` in a real process."""
    import json

    done = run_shell_snippet("Integrate over HTTP", tmp_path, timeout=120)
    decoder, answers = json.JSONDecoder(), []
    for line in done.stdout.splitlines():  # curl prints answers without a line break after
        rest = line.strip() if line.startswith("{") else ""
        while rest:
            value, end = decoder.raw_decode(rest)
            answers.append(value)
            rest = rest[end:].lstrip()
    plan, account, event, invoices, projected = answers
    assert plan["id"] == "team" and account["id"] == "acme" and event["status"] == "accepted"
    (invoice,) = invoices["data"]
    assert (invoice["number"], invoice["total"], invoice["status"]) == (
        "INV-000001",
        "20.00",
        "paid",
    )
    assert (projected["kind"], projected["total"], len(projected["members"])) == (
        "renewal",
        "30.00",
        3,
    )
    assert "Traceback" not in done.stderr


def test_the_what_if_walkthrough_runs_as_printed(tmp_path: Path) -> None:
    """`What-if`, pasted into a shell in a folder beside the repository's examples: a
    comparison, a simulation's report, and a backtest of a 10% price rise."""
    import csv

    (tmp_path / "src").symlink_to(README.parent / "src")
    done = run_shell_snippet("What-if: compare plans", tmp_path, timeout=300)
    assert "seats-monthly" in done.stdout and "active-users-monthly" in done.stdout
    assert "seat lines                 $2,172.00 → $2,389.20  (+10.00%)" in done.stdout
    (row,) = csv.DictReader((tmp_path / "book.csv").open(encoding="utf-8"))
    assert (row["account"], row["old_total"], row["new_total"]) == ("hooli", "2172.00", "2389.20")
    for report in ("acme.html", "book.html"):
        assert "<svg" in (tmp_path / report).read_text(encoding="utf-8")
