"""The ``seatwise`` command line."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import click

from seatwise.core.errors import SeatwiseError
from seatwise.core.periods import iso
from seatwise.engine.clock import SystemClock
from seatwise.expectations import mismatches
from seatwise.report import invoice_table
from seatwise.scenario import (
    document,
    invoice_json,
    load_scenario,
    parse_scenario,
    run_scenario,
)

EXIT_INVALID = 2
EXIT_MISMATCH = 1


def _fail(error: SeatwiseError) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(EXIT_INVALID)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seatwise")
def main() -> None:
    """Seatwise: seat billing and prepaid credits, exactly right and explained."""


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document of SPEC §9.")
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
    try:
        scenario = load_scenario(file)
        result = run_scenario(scenario)
        doc = document(result)
        problems = []
        if check:
            if scenario.expect is None:
                raise click.UsageError(f"{file} has no `expect:` block to check")
            problems = mismatches(scenario.expect, doc)
    except SeatwiseError as error:
        _fail(error)
        return
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
        for problem in problems:
            click.echo(f"{file}: {problem}", err=True)
        if problems:
            sys.exit(EXIT_MISMATCH)
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


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON documents instead of tables.")
def demo(as_json: bool) -> None:
    """Simulate a realistic year of one customer for each preset and print the invoices."""
    for name, text in example_files():
        try:
            doc = document(run_scenario(parse_scenario(text, name)))
        except SeatwiseError as error:
            _fail(error)
            return
        if as_json:
            click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        else:
            click.echo("=" * 100)
            click.echo(invoice_table(doc))
            click.echo()


@main.command()
@click.option(
    "--database-url",
    envvar="SEATWISE_DATABASE_URL",
    help="Default: $SEATWISE_DATABASE_URL, else sqlite:///./seatwise.db. "
    "PostgreSQL: postgresql://user@host/db",
)
def migrate(database_url: str | None) -> None:
    """Create the database schema, or upgrade it to the newest version."""
    from seatwise.store.database import migrate as run_migrations

    where = run_migrations(database_url)
    click.echo(f"schema up to date: {where}")


DATABASE_OPTION = click.option(
    "--database-url",
    envvar="SEATWISE_DATABASE_URL",
    help="Default: $SEATWISE_DATABASE_URL, else sqlite:///./seatwise.db.",
)


def _instant(text: str | None) -> datetime:
    if text is None:
        return SystemClock().now()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise click.BadParameter(f"{text!r} has no time zone: add Z or an offset")
    return value.astimezone(UTC)


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--account-id", help="Default: the file name without .yaml.")
@DATABASE_OPTION
def import_command(file: Path, account_id: str | None, database_url: str | None) -> None:
    """Store the scenario FILE's plan, account and timeline, to be billed by `seatwise bill`."""
    from seatwise.engine.billing_run import import_scenario
    from seatwise.store.database import make_engine

    try:
        scenario = load_scenario(file)
    except SeatwiseError as error:
        _fail(error)
        return
    account = account_id or file.stem
    import_scenario(make_engine(database_url), scenario, account, SystemClock().now())
    click.echo(f"imported account {account} ({len(scenario.events)} events)")


@main.command()
@click.option("--until", help="Process everything due up to this instant (default: now).")
@DATABASE_OPTION
def bill(until: str | None, database_url: str | None) -> None:
    """Issue every invoice due up to --until, for every account. Safe to run again: what was
    issued is never issued twice."""
    from seatwise.engine import billing_run
    from seatwise.store import repository
    from seatwise.store.database import make_engine

    engine = make_engine(database_url)
    instant = _instant(until)
    if sys.stderr.isatty():
        with engine.connect() as connection:
            count = len(repository.account_ids(connection))
        with click.progressbar(length=count, label="billing", file=sys.stderr) as bar:
            report = billing_run.bill(engine, instant, progress=lambda _account: bar.update(1))
    else:
        report = billing_run.bill(engine, instant)
    click.echo(
        f"billed {report.accounts} account(s) up to {iso(instant)}: "
        f"{report.invoices} invoice(s), {report.lines} line(s)"
    )


@main.command(name="invoices")
@click.argument("account_id")
@DATABASE_OPTION
def invoices_command(account_id: str, database_url: str | None) -> None:
    """Print the invoices issued to ACCOUNT_ID as JSON (the format of `simulate --json`)."""
    from seatwise.store import repository
    from seatwise.store.database import make_engine

    with make_engine(database_url).connect() as connection:
        try:
            stored = repository.load_account(connection, account_id)
        except SeatwiseError as error:
            _fail(error)
            return
        entries = repository.issued_invoices(connection, account_id)
    cur = stored.plan.currency
    click.echo(
        json.dumps(
            [invoice_json(cur, entry.number, entry.status, entry.invoice) for entry in entries],
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":  # pragma: no cover
    main()
