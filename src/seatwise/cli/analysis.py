"""``seatwise compare`` and ``seatwise backtest``: what a history would have cost under other
plans; nothing is stored or sent."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from seatwise.analysis.backtest_tables import backtest_csv, backtest_json, backtest_text
from seatwise.analysis.compare import (
    CompareError,
    Policy,
    file_policy,
    own_policy,
    preset_policy,
)
from seatwise.analysis.compare import (
    compare as compare_plans,
)
from seatwise.analysis.tables import comparison_json, comparison_text
from seatwise.cli.app import fail, main
from seatwise.cli.common import DATABASE_OPTION, echo_json, instant, store
from seatwise.core.presets import preset_names
from seatwise.engine.backtest import (
    BacktestRequest,
    chosen_accounts,
    default_jobs,
    run_backtest,
)
from seatwise.engine.clock import SystemClock
from seatwise.scenario import load_plan_file, load_scenario
from seatwise.store.database import database_url as resolved_url


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--plan",
    "plan_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A plan file (the document a scenario's `plan:` holds); repeat for several.",
)
@click.option(
    "--preset",
    "presets",
    multiple=True,
    help=f"A preset at the scenario plan's price ({', '.join(preset_names())}); repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as a JSON document.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML report with charts to this file.",
)
def compare(
    file: Path,
    plan_files: tuple[Path, ...],
    presets: tuple[str, ...],
    as_json: bool,
    report: Path | None,
) -> None:
    """Bill the member history of the scenario FILE under its own plan and under each --plan
    and --preset, side by side: invoices, totals per month and per term, cash timing, billed
    against occupied seats, and the difference to the first (the scenario's own plan).

    A preset keeps the scenario plan's price, converted to the preset's interval (a twelfth of
    a yearly price per month). Nothing is stored or sent.
    """
    scenario = load_scenario(file)
    policies: list[Policy] = [own_policy(scenario)]
    for plan_file in plan_files:
        plan, definition = load_plan_file(plan_file)
        policies.append(file_policy(plan_file.stem, plan, definition))
    for name in presets:
        policies.append(preset_policy(scenario, name))
    if len(policies) < 2:
        raise CompareError("name a plan to compare with: --plan FILE or --preset NAME")
    comparison = compare_plans(scenario, policies)
    if report is not None:
        from seatwise.analysis.reports import comparison_report

        report.write_text(comparison_report(comparison), encoding="utf-8")
    if as_json:
        echo_json(comparison_json(comparison))
    else:
        click.echo(comparison_text(comparison))
    if report is not None:
        click.echo(f"report written to {report}", err=as_json)


@main.command()
@click.option(
    "--plan",
    "plan_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The plan file every account is re-billed under (its own plan replaced).",
)
@click.option("--accounts", "account_ids", multiple=True, help="Only these accounts (repeatable).")
@click.option("--from", "since", help="Count invoices issued from this instant (default: all).")
@click.option("--until", help="Count invoices issued before this instant (default: now).")
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    help="Processes to share the accounts among (default: the machine's cores).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the backtest as a JSON document.")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one row per account to this CSV file.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a self-contained HTML report with charts to this file.",
)
@DATABASE_OPTION
def backtest(
    plan_file: Path,
    account_ids: tuple[str, ...],
    since: str | None,
    until: str | None,
    jobs: int | None,
    as_json: bool,
    csv_file: Path | None,
    report: Path | None,
    database_url: str | None,
) -> None:
    """Re-bill every stored account's real timeline under the plan in --plan and compare it
    with what was invoiced: revenue and invoices per month, old and new, the accounts that
    would pay more or less. Nothing is stored or sent.

    The database should be billed up to --until (`seatwise bill --until T`): invoices not
    issued yet count as differences. An account that cannot be re-billed under the plan is
    listed with the reason and left out of the figures.
    """
    plan, definition = load_plan_file(plan_file)
    end = instant(until, "--until")
    now = SystemClock().now()
    if end > now:
        fail(f"--until: {until} has not happened yet; a backtest reads what was invoiced")
    start = instant(since, "--from") if since is not None else None
    if start is not None and start >= end:
        fail("--from: must be before --until")
    url = resolved_url(database_url)
    engine = store(database_url)
    try:
        chosen = chosen_accounts(engine, account_ids)
    finally:
        engine.dispose()
    request = BacktestRequest(plan_file.stem, definition, plan, start, end)
    workers = jobs or default_jobs()
    if sys.stderr.isatty() and chosen:
        with click.progressbar(
            length=len(chosen), label="backtest", file=sys.stderr, show_eta=True, show_pos=True
        ) as bar:
            result = run_backtest(url, request, chosen, workers, bar.update)
    else:
        result = run_backtest(url, request, chosen, workers)
    if csv_file is not None:
        csv_file.write_text(backtest_csv(result), encoding="utf-8")
    if report is not None:
        from seatwise.analysis.book import backtest_report

        report.write_text(backtest_report(result), encoding="utf-8")
    if as_json:
        echo_json(backtest_json(result))
    else:
        click.echo(backtest_text(result))
    for written in (csv_file, report):
        if written is not None:
            click.echo(f"written to {written}", err=as_json)
