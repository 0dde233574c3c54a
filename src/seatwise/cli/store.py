"""Commands over the store: ``migrate``, ``import``, ``bill``, ``finalize``."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import Engine

from seatwise.cli.app import EXIT_FAILED, main
from seatwise.cli.common import DATABASE_OPTION, echo_json, instant, store
from seatwise.core.money import currency
from seatwise.core.periods import iso
from seatwise.engine.billing_preview import Preview
from seatwise.engine.billing_report import BillingReport
from seatwise.engine.clock import SystemClock
from seatwise.scenario import load_scenario


@main.command()
@DATABASE_OPTION
def migrate(database_url: str | None) -> None:
    """Create the database schema, or upgrade it to the newest version."""
    from seatwise.store.database import migrate as run_migrations

    where = run_migrations(database_url)
    click.echo(f"schema up to date: {where}")


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--account-id", help="Default: the file name without .yaml.")
@click.option(
    "--notify-history",
    is_flag=True,
    help="Also email and notify about the imported past when it is billed (by default only "
    "facts from the import on are told).",
)
@DATABASE_OPTION
def import_command(
    file: Path, account_id: str | None, notify_history: bool, database_url: str | None
) -> None:
    """Store the scenario FILE's plan, account and timeline, to be billed by `seatwise bill`.

    Its events are checked as `seatwise event` checks them (none in the future); its
    `webhooks:` are registered (the secrets are printed once); its `pay` events are not
    imported (they name a simulation's invoice numbers: record payments with `mark-paid`)."""
    from seatwise.engine.importing import import_scenario

    scenario = load_scenario(file)
    account = account_id or file.stem
    engine = store(database_url)
    imported = import_scenario(engine, scenario, account, SystemClock().now(), notify_history)
    click.echo(f"imported account {account} ({imported.events} events)")
    if imported.plan_id != account:
        click.echo(f"its plan is {imported.plan_id}: a different plan has the id {account} already")
    for endpoint in imported.endpoints:
        click.echo(f"webhook endpoint {endpoint.id}: {endpoint.url}\n  secret: {endpoint.secret}")
    if imported.payments_left_out:
        click.echo(
            f"left out {imported.payments_left_out} `pay` event(s): record payments with "
            "`seatwise mark-paid INVOICE --at T`"
        )


@main.command()
@click.option("--until", help="Process everything due up to this instant (default: now).")
@click.option(
    "--drafts",
    is_flag=True,
    help="Store what is due as unnumbered drafts to review; `seatwise finalize` issues them.",
)
@click.option(
    "--preview",
    is_flag=True,
    help="Show what a run up to --until (the future too) would issue, charge and send; "
    "nothing is stored or sent.",
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Bill every account, not only those with something due by --until or news since "
    "their last run.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    default=1,
    show_default=True,
    help="Processes billing at once (PostgreSQL): each takes accounts no other holds. "
    "Runs on several machines against one database share the same way.",
)
@DATABASE_OPTION
def bill(
    until: str | None,
    drafts: bool,
    preview: bool,
    everything: bool,
    workers: int,
    database_url: str | None,
) -> None:
    """Issue and collect everything due up to --until, for every account, in time order:
    invoices, charges and their retries, reminders, dunning's final action, purges. Safe to run
    again: what was issued is never issued twice. Never ahead of time: --until in the future
    is refused (--preview shows it instead)."""
    from seatwise.engine import billing_report
    from seatwise.engine.billing_workers import bill_with_workers
    from seatwise.heap import settle_for_work
    from seatwise.store import repository

    engine = store(database_url)
    moment = instant(until, "--until")
    if preview:
        if drafts:
            raise click.UsageError("--preview and --drafts do not go together")
        if workers != 1:
            raise click.UsageError("--preview runs in one transaction: no --workers")
        from seatwise.engine import billing_preview

        _show_preview(billing_preview.preview(engine, moment))
        return
    billing_report.check_not_ahead(moment, None)
    if workers > 1 and (everything or drafts):
        raise click.UsageError(
            "--workers shares the accounts due; --all and --drafts take every account "
            "(leave out --workers)"
        )
    if workers > 1 and engine.dialect.name != "postgresql":
        raise click.UsageError(
            f"--workers {workers} needs PostgreSQL: SQLite has one writer at a time "
            "(leave out --workers)"
        )
    settle_for_work()  # this process bills from here on: its modules and engine stay
    started = time.perf_counter()
    if sys.stderr.isatty():
        with engine.connect() as connection:
            every = everything or drafts
            count = repository.count_accounts(connection, None if every else moment)
        report = _bill_with_progress(engine, moment, drafts, everything, count, workers)
    else:
        report = bill_with_workers(engine, moment, workers, drafts=drafts, everything=everything)
    seconds = time.perf_counter() - started
    what = "draft(s)" if drafts else "invoice(s)"
    click.echo(
        f"billed {report.accounts} account(s) up to {iso(moment)}: "
        f"{report.invoices} {what}, {report.lines} line(s) in {seconds:.1f} s "
        f"({report.accounts / max(seconds, 1e-9):,.0f} accounts/s)"
        + (f"; {report.not_due} other(s) had nothing due" if report.not_due else "")
    )
    if not drafts:
        click.echo(
            f"collected: {report.charges} charge(s), {report.paid} paid, "
            f"{report.reminders} reminder(s); {report.messages} message(s) queued "
            "(`seatwise deliver` sends them)"
        )
    if report.failed:
        for failure in report.failed:
            click.echo(
                f"error: account {failure.account_id} not billed: {failure.reason}", err=True
            )
        click.echo(
            f"{len(report.failed)} account(s) could not be billed and were left untouched; the "
            "others were billed. `seatwise accounts --status billing_error` lists them; the "
            "next run bills them again.",
            err=True,
        )
        sys.exit(EXIT_FAILED)


def _bill_with_progress(
    engine: Engine, moment: datetime, drafts: bool, everything: bool, count: int, workers: int
) -> BillingReport:
    """A billing run with a bar on the terminal: accounts done, invoices, rate, time left."""
    from seatwise.engine.billing_workers import bill_with_workers

    began = time.perf_counter()
    issued = 0

    def label() -> str:
        return f"billing ({issued:,} invoice(s))"

    with click.progressbar(
        length=count, label=label(), file=sys.stderr, show_pos=True, show_eta=True
    ) as bar:

        def told(done: BillingReport) -> None:
            nonlocal issued
            issued += done.invoices
            rate = (bar.pos + done.accounts) / max(time.perf_counter() - began, 1e-9)
            bar.label = f"{label()}, {rate:,.0f} accounts/s"
            bar.update(done.accounts)

        return bill_with_workers(
            engine, moment, workers, progress=told, drafts=drafts, everything=everything
        )


def _show_preview(result: Preview) -> None:
    click.echo(f"Preview of a billing run up to {iso(result.until)}: nothing is stored or sent.")
    for entry in result.invoices:
        cur = currency(entry.currency_code)
        click.echo(
            f"  {entry.account_id}  {entry.invoice.kind:<9} issued {iso(entry.invoice.issued_at)}"
            f"  {cur.display(entry.invoice.total):>14}  {entry.status}"
        )
    click.echo(
        f"would issue {len(result.invoices)} invoice(s), make {result.charges} charge(s) "
        f"({result.paid} paid), send {result.reminders} reminder(s), queue {result.messages} "
        "message(s)"
    )
    for failure in result.failed:
        click.echo(f"would fail: account {failure.account_id}: {failure.reason}", err=True)


@main.command()
@click.option(
    "--status",
    type=click.Choice(["active", "cancelled", "suspended", "deleted", "billing_error"]),
    help="Only accounts in this status (billing_error: those a billing run could not bill).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@DATABASE_OPTION
def accounts(status: str | None, as_json: bool, database_url: str | None) -> None:
    """The accounts, with their plan, status and any billing error."""
    from seatwise.store import repository

    with store(database_url).connect() as connection:
        rows = repository.account_rows(connection, status)
    data = [
        {
            "id": row.id,
            "plan": row.plan_id,
            "status": row.status,
            "subscribed_at": iso(row.subscribed_at),
            "ended_at": None if row.ended_at is None else iso(row.ended_at),
            "billing_error": row.billing_error,
            "billing_error_at": None if row.billing_error_at is None else iso(row.billing_error_at),
        }
        for row in rows
    ]
    if as_json:
        echo_json(data)
        return
    if not data:
        click.echo("(no accounts)")
    for item in data:
        error = f"  billing error: {item['billing_error']}" if item["billing_error"] else ""
        click.echo(f"{item['id']}  {item['status']}  plan {item['plan']}{error}")


@main.command()
@click.argument("account_id")
@DATABASE_OPTION
def finalize(account_id: str, database_url: str | None) -> None:
    """Finalize ACCOUNT_ID's drafts: recompute them from the timeline, number them and issue
    them; from then on they are immutable."""
    from seatwise.engine.billing_run import finalize_drafts

    report = finalize_drafts(store(database_url), account_id)
    click.echo(f"finalized {report.invoices} invoice(s), {report.lines} line(s)")
