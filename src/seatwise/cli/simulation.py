"""``seatwise simulate``: a scenario file billed on a store of its own."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import click

from seatwise.cli.app import EXIT_FAILED, fail, main
from seatwise.engine.simulation import simulate as simulate_on_store
from seatwise.expectations import mismatches
from seatwise.report import invoice_table
from seatwise.scenario import load_scenario
from seatwise.scenario_result import document


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document of the result.")
@click.option("--explain", is_flag=True, help="Print under each line why it is there.")
@click.option(
    "--check",
    is_flag=True,
    help="Compare the result with the file's `expect:` block; exit 1 on any difference.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML report (seats and invoices over time) to this file.",
)
def simulate(file: Path, as_json: bool, explain: bool, check: bool, report: Path | None) -> None:
    """Bill the scenario FILE from its subscription to `until` on a fresh in-memory store.

    Exit status 0 on success, 2 if the scenario is invalid (the message names the file, the
    line and the problem), 1 if --check finds a difference.
    """
    scenario = load_scenario(file)
    if check and scenario.expect is None:
        fail(f"{file} has no `expect:` block to check")
    result = simulate_on_store(scenario)
    doc = document(result)
    if report is not None:
        from seatwise.analysis.story import simulation_report

        report.write_text(simulation_report(result), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    elif not check:
        explanations = None
        if explain:
            explanations = [
                [line.explanation.summary for line in invoice.lines]
                for invoice in result.billing.invoices
            ]
        click.echo(invoice_table(doc, explanations))
    if check:
        assert scenario.expect is not None
        problems = mismatches(scenario.expect, doc)
        for problem in problems:
            click.echo(f"{file}: {problem}", err=True)
        if problems:
            sys.exit(EXIT_FAILED)
        count = len(doc["invoices"])
        click.echo(f"{file}: as expected ({count} invoice{'' if count == 1 else 's'})", err=as_json)
    if report is not None:
        click.echo(f"report written to {report}", err=as_json or check)


def example_files() -> list[tuple[str, str]]:
    """The example scenarios shipped in the package, as (file name, text)."""
    folder = resources.files("seatwise") / "examples"
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )
