"""``seatwise simulate`` and ``seatwise demo``: scenario files billed on a store of their own."""

from __future__ import annotations

import json
import shutil
import sys
from importlib import resources
from pathlib import Path

import click

from seatwise.cli.app import EXIT_FAILED, fail, main
from seatwise.engine.simulation import simulate as simulate_on_store
from seatwise.expectations import mismatches
from seatwise.report import invoice_table
from seatwise.scenario import document, load_scenario, parse_scenario


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document of the result.")
@click.option("--explain", is_flag=True, help="Print under each line why it is there.")
@click.option(
    "--check",
    is_flag=True,
    help="Compare the result with the file's `expect:` block; exit 1 on any difference.",
)
def simulate(file: Path, as_json: bool, explain: bool, check: bool) -> None:
    """Bill the scenario FILE from its subscription to `until` on a fresh in-memory store.

    Exit status 0 on success, 2 if the scenario is invalid (the message names the file, the
    line and the problem), 1 if --check finds a difference.
    """
    scenario = load_scenario(file)
    if check and scenario.expect is None:
        fail(f"{file} has no `expect:` block to check")
    result = simulate_on_store(scenario)
    doc = document(result)
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


def example_files() -> list[tuple[str, str]]:
    """The example scenarios shipped in the package, as (file name, text)."""
    folder = resources.files("seatwise") / "examples"
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


DEMO_ACCOUNTS = {name.removesuffix(".yaml") for name, _ in example_files()}


def check_demo_database(path: Path) -> None:
    """The demo empties its file first: only a file it made itself (or no file) may be."""
    import sqlite3

    if not path.exists():
        return
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            ids = {row[0] for row in connection.execute("SELECT id FROM accounts")}
    except sqlite3.Error:
        ids = {"(not a Seatwise database)"}
    if not ids <= DEMO_ACCOUNTS:
        fail(
            f"{path} is not a Seatwise demo database (it holds other data): choose another "
            "--database, or add --force to replace it"
        )


def how_to_run() -> str:
    """How the user can run `seatwise` from here: its path when it is not on the PATH."""
    program = Path(sys.argv[0])
    if program.name == "seatwise" and shutil.which("seatwise") != str(program.resolve()):
        try:
            return f"{program.resolve().relative_to(Path.cwd())}"
        except ValueError:
            return str(program.resolve())
    return "seatwise"


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document of every account.")
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("seatwise-demo.db"),
    show_default=True,
    help="The SQLite file the demo bills in (emptied first; only a demo's own file).",
)
@click.option("--force", is_flag=True, help="Replace --database even if it is not a demo's.")
def demo(as_json: bool, database: Path, force: bool) -> None:
    """Bill a realistic year of one customer for each preset, on an SQLite file, and print
    the invoices; then `seatwise invoices`, `explain` and `project` work on that file."""
    from seatwise.store.database import make_engine, migrate

    if not force:
        check_demo_database(database)
    database.unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    migrate(url)
    engine = make_engine(url)
    documents = []
    for name, text in example_files():
        account_id = name.removesuffix(".yaml")
        result = simulate_on_store(parse_scenario(text, name), engine, account_id)
        doc = document(result)
        documents.append({"account": account_id, **doc})
        if not as_json:
            click.echo("=" * 100)
            click.echo(f"account {account_id}")
            click.echo(invoice_table(doc))
            click.echo()
    engine.dispose()
    if as_json:
        click.echo(
            json.dumps({"database": url, "accounts": documents}, indent=2, ensure_ascii=False)
        )
        return
    program = how_to_run()
    click.echo(f"Billed on {database}. Explore it:")
    click.echo(f"  {program} invoices 1_licences_annual --database-url {url}")
    click.echo(f"  {program} explain INV-000002 --database-url {url}")
    click.echo(f"  {program} project 2_active_users_monthly --database-url {url}")
    if program != "seatwise":
        click.echo("(or `. .venv/bin/activate` first, then plain `seatwise …`)")
