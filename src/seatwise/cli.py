"""The ``seatwise`` command line."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from seatwise.core.errors import SeatwiseError
from seatwise.core.money import currency
from seatwise.core.periods import iso
from seatwise.engine.clock import SystemClock
from seatwise.engine.recording import ACTIONS
from seatwise.engine.simulation import simulate as simulate_on_store
from seatwise.expectations import mismatches
from seatwise.report import invoice_table
from seatwise.scenario import document, invoice_json, load_scenario, parse_scenario

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
        result = simulate_on_store(scenario)
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
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("seatwise-demo.db"),
    show_default=True,
    help="The SQLite file the demo bills in (emptied first).",
)
def demo(as_json: bool, database: Path) -> None:
    """Bill a realistic year of one customer for each preset, on an SQLite file, and print
    the invoices; then `seatwise invoices`, `explain` and `project` work on that file."""
    from seatwise.store.database import make_engine, migrate

    database.unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    migrate(url)
    engine = make_engine(url)
    for name, text in example_files():
        account_id = name.removesuffix(".yaml")
        try:
            result = simulate_on_store(parse_scenario(text, name), engine, account_id)
        except SeatwiseError as error:
            _fail(error)
            return
        doc = document(result)
        if as_json:
            click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        else:
            click.echo("=" * 100)
            click.echo(f"account {account_id}")
            click.echo(invoice_table(doc))
            click.echo()
    engine.dispose()
    if not as_json:
        click.echo(f"Billed on {database}. Try: seatwise explain INV-000001 --database-url {url}")


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
    try:
        import_scenario(make_engine(database_url), scenario, account, SystemClock().now())
    except SeatwiseError as error:
        _fail(error)
        return
    click.echo(f"imported account {account} ({len(scenario.events)} events)")


@main.command()
@click.option("--until", help="Process everything due up to this instant (default: now).")
@click.option(
    "--drafts",
    is_flag=True,
    help="Store what is due as unnumbered drafts to review; `seatwise finalize` issues them.",
)
@DATABASE_OPTION
def bill(until: str | None, drafts: bool, database_url: str | None) -> None:
    """Issue and collect everything due up to --until, for every account, in time order:
    invoices, charges and their retries, reminders, dunning's final action, purges. Safe to run
    again: what was issued is never issued twice."""
    from seatwise.engine import billing_run
    from seatwise.store import repository
    from seatwise.store.database import make_engine

    engine = make_engine(database_url)
    instant = _instant(until)
    if sys.stderr.isatty():
        with engine.connect() as connection:
            count = len(repository.account_ids(connection))
        with click.progressbar(length=count, label="billing", file=sys.stderr) as bar:
            report = billing_run.bill(
                engine, instant, progress=lambda _account: bar.update(1), drafts=drafts
            )
    else:
        report = billing_run.bill(engine, instant, drafts=drafts)
    what = "draft(s)" if drafts else "invoice(s)"
    click.echo(
        f"billed {report.accounts} account(s) up to {iso(instant)}: "
        f"{report.invoices} {what}, {report.lines} line(s)"
    )
    if not drafts:
        click.echo(
            f"collected: {report.charges} charge(s), {report.paid} paid, "
            f"{report.reminders} reminder(s); {report.messages} message(s) queued "
            "(`seatwise deliver` sends them)"
        )


@main.command(name="invoices")
@click.argument("account_id")
@click.option("--drafts", is_flag=True, help="Show the account's drafts instead.")
@DATABASE_OPTION
def invoices_command(account_id: str, drafts: bool, database_url: str | None) -> None:
    """Print the invoices issued to ACCOUNT_ID as JSON (the format of `simulate --json`)."""
    from seatwise.store import repository
    from seatwise.store.database import make_engine

    with make_engine(database_url).connect() as connection:
        try:
            stored = repository.load_account(connection, account_id)
        except SeatwiseError as error:
            _fail(error)
            return
        entries = repository.issued_invoices(connection, account_id, drafts=drafts)
    cur = stored.plan.currency
    click.echo(
        json.dumps(
            [invoice_json(cur, entry.number, entry.status, entry.invoice) for entry in entries],
            indent=2,
            ensure_ascii=False,
        )
    )


def _engine(database_url: str | None) -> Engine:
    from seatwise.store.database import make_engine

    return make_engine(database_url)


@main.command()
@click.argument("account_id")
@click.argument("action", type=click.Choice(ACTIONS))
@click.argument("member", required=False)
@click.option("--at", "at_text", help="When it happened (default: now). Never in the future.")
@click.option("--email", help="A new member's email, for billing mail.")
@click.option("--manage-billing", is_flag=True, help="A new member who manages billing.")
@click.option("--content", help="assign/start/unassign: the premium content.")
@click.option("--credits", type=int, help="assign: the credits the content reserves.")
@DATABASE_OPTION
def event(
    account_id: str,
    action: str,
    member: str | None,
    at_text: str | None,
    email: str | None,
    manage_billing: bool,
    content: str | None,
    credits: int | None,
    database_url: str | None,
) -> None:
    """Record that ACTION happened to MEMBER of ACCOUNT_ID (or `cancel` for the account).

    Member actions: invite, activate, deactivate, reactivate, delete. Credits: `assign MEMBER
    --content X --credits N` reserves credits, `start MEMBER --content X` spends them (missing
    ones are charged as overage on the next monthly invoice), `unassign` releases them.

    An event dated before a period already invoiced is accepted: the next `seatwise bill`
    settles it as an adjustment line; issued invoices are never rewritten."""
    from seatwise.core.seat_timeline import Member
    from seatwise.engine.recording import make_event, record_event

    at = _instant(at_text)
    try:
        change = make_event(action, at, member, content, credits)
        details = Member(member, manage_billing, email) if member else None
        recorded = record_event(_engine(database_url), account_id, change, SystemClock(), details)
    except SeatwiseError as error:
        _fail(error)
        return
    late = " (late: the next invoice will carry an adjustment)" if recorded.late else ""
    who = f" {member}" if member else ""
    what = f" {content}" if content and action in ("assign", "start", "unassign") else ""
    click.echo(f"recorded #{recorded.seq}: {action}{who}{what} at {iso(at)}{late}")
    for entry in recorded.credit_entries:
        click.echo(f"  credits: {entry.note}")
    if recorded.credit_entries or action in ("assign", "start", "unassign"):
        click.echo(
            f"  wallet: balance {recorded.balance_after}, assigned {recorded.assigned_after}"
        )
    if recorded.alert:
        click.echo("  alert: more credits assigned than the balance holds")


@main.command()
@click.argument("account_id")
@click.option("--at", "at_text", help="The instant (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@DATABASE_OPTION
def project(account_id: str, at_text: str | None, as_json: bool, database_url: str | None) -> None:
    """Show the projected invoice of ACCOUNT_ID: what its next invoice would hold if the cycle
    ended now (or --at), with the members it counts."""
    from seatwise.engine.queries import projected_invoice
    from seatwise.report import projection_json, projection_text

    try:
        projected = projected_invoice(_engine(database_url), account_id, _instant(at_text))
    except SeatwiseError as error:
        _fail(error)
        return
    if as_json:
        click.echo(json.dumps(projection_json(projected), indent=2, ensure_ascii=False))
    else:
        click.echo(projection_text(projected))


@main.command()
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@DATABASE_OPTION
def explain(number: str, as_json: bool, database_url: str | None) -> None:
    """Explain invoice NUMBER line by line: the members, events and dates behind each line,
    its credit notes and its status history."""
    from seatwise.engine.queries import explain_invoice
    from seatwise.report import explanation_json, explanation_text

    try:
        details = explain_invoice(_engine(database_url), number)
    except SeatwiseError as error:
        _fail(error)
        return
    if as_json:
        click.echo(json.dumps(explanation_json(details), indent=2, ensure_ascii=False))
    else:
        click.echo(explanation_text(details))


@main.command()
@click.argument("account_id")
@DATABASE_OPTION
def finalize(account_id: str, database_url: str | None) -> None:
    """Finalize ACCOUNT_ID's drafts: recompute them from the timeline, number them and issue
    them; from then on they are immutable."""
    from seatwise.engine.billing_run import finalize_drafts

    try:
        report = finalize_drafts(_engine(database_url), account_id)
    except SeatwiseError as error:
        _fail(error)
        return
    click.echo(f"finalized {report.invoices} invoice(s), {report.lines} line(s)")


def _status_command(name: str, verb: str, help_text: str) -> None:
    @main.command(name=name, help=help_text)
    @click.argument("number")
    @click.option("--reason", required=name != "mark-paid", help="Why, for the history.")
    @click.option("--at", "at_text", help="When (default: now).")
    @DATABASE_OPTION
    def command(
        number: str, reason: str | None, at_text: str | None, database_url: str | None
    ) -> None:
        from seatwise.engine import invoice_lifecycle

        operation = {
            "void": invoice_lifecycle.void,
            "mark-uncollectible": invoice_lifecycle.mark_uncollectible,
            "mark-paid": invoice_lifecycle.mark_paid,
        }[name]
        try:
            operation(_engine(database_url), number, _instant(at_text), reason or "paid")
        except SeatwiseError as error:
            _fail(error)
            return
        click.echo(f"{number} {verb}")


_status_command(
    "void",
    "voided",
    "Void invoice NUMBER, issued in error: nothing is owed on it, and credit it used returns "
    "to the account's balance. Its charges are not billed again.",
)
_status_command(
    "mark-uncollectible",
    "marked uncollectible",
    "Write invoice NUMBER off as a bad debt; it can still be paid or voided later.",
)
_status_command("mark-paid", "marked paid", "Record that invoice NUMBER was paid outside Seatwise.")


@main.command(name="credit-note")
@click.argument("number")
@click.option("--amount", required=True, help='In the invoice\'s currency, like "12.50".')
@click.option("--reason", required=True, help="Why, printed on the credit note.")
@click.option("--at", "at_text", help="When (default: now).")
@DATABASE_OPTION
def credit_note(
    number: str, amount: str, reason: str, at_text: str | None, database_url: str | None
) -> None:
    """Credit part or all of invoice NUMBER. An unpaid invoice then owes that much less; a
    paid one gives the amount back as account credit, used first by the next invoices."""
    from seatwise.core.money import to_minor
    from seatwise.engine.invoice_lifecycle import issue_credit_note
    from seatwise.engine.queries import explain_invoice

    engine = _engine(database_url)
    try:
        cur = explain_invoice(engine, number).currency
        issued = issue_credit_note(engine, number, to_minor(amount, cur), reason, _instant(at_text))
    except SeatwiseError as error:
        _fail(error)
        return
    where = (
        f"; {cur.display(issued.to_balance)} to the account's credit balance"
        if issued.to_balance
        else ""
    )
    click.echo(
        f"credit note {issued.number}: {cur.display(issued.amount)} on {number} "
        f"(now {issued.invoice_status}){where}"
    )


@main.group()
def credits() -> None:
    """An account's credits: price quotes, purchases, and the wallet with its ledger."""


@credits.command("quote")
@click.argument("account_id")
@click.argument("count", type=int)
@DATABASE_OPTION
def credits_quote(account_id: str, count: int, database_url: str | None) -> None:
    """What COUNT credits cost ACCOUNT_ID, and whether buying more costs the same or less."""
    from seatwise.engine.credits import quote_credits

    try:
        click.echo(quote_credits(_engine(database_url), account_id, count).text())
    except SeatwiseError as error:
        _fail(error)


@credits.command("buy")
@click.argument("account_id")
@click.argument("count", type=int)
@DATABASE_OPTION
def credits_buy(account_id: str, count: int, database_url: str | None) -> None:
    """Buy COUNT credits now: a `credits` invoice is issued at once; the credits are added when
    it is paid (at once when the plan charges a payment method automatically)."""
    from seatwise.engine.credits import buy_credits

    try:
        invoice = buy_credits(_engine(database_url), account_id, count, SystemClock())
    except SeatwiseError as error:
        _fail(error)
        return
    cur = currency(invoice.currency_code)
    click.echo(
        f"{invoice.number}: {count} credits, {cur.display(invoice.invoice.total)}, {invoice.status}"
    )


@credits.command("show")
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@DATABASE_OPTION
def credits_show(account_id: str, as_json: bool, database_url: str | None) -> None:
    """The wallet of ACCOUNT_ID: balance, assigned, open reservations and the whole ledger."""
    from seatwise.engine.credits import wallet
    from seatwise.report import wallet_json, wallet_text

    try:
        view = wallet(_engine(database_url), account_id, SystemClock().now())
    except SeatwiseError as error:
        _fail(error)
        return
    if as_json:
        click.echo(json.dumps(wallet_json(view), indent=2, ensure_ascii=False))
    else:
        click.echo(wallet_text(view))


# -- getting paid -----------------------------------------------------------------------------


@main.command(name="payment-method")
@click.argument("account_id")
@click.argument("method")
@click.option("--at", "at_text", help="From when (default: now). Never in the future.")
@DATABASE_OPTION
def payment_method(
    account_id: str, method: str, at_text: str | None, database_url: str | None
) -> None:
    """Set ACCOUNT_ID's payment method to METHOD (the gateway's token; with the built-in test
    gateway: succeeds, declines, declines_first_N, none). Unpaid invoices that the plan charges
    automatically are charged to it at once."""
    from seatwise.engine.payments import set_payment_method

    try:
        updated = set_payment_method(
            _engine(database_url), account_id, method, SystemClock(), _instant(at_text)
        )
    except SeatwiseError as error:
        _fail(error)
        return
    click.echo(f"{account_id} pays with {method} from {iso(updated.at)}")
    for made in updated.attempts:
        outcome = f"paid, receipt {made.receipt}" if made.attempt.succeeded else made.attempt.reason
        click.echo(f"  charged {made.attempt.invoice} (attempt {made.number}): {outcome}")


@main.command()
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@DATABASE_OPTION
def payments(account_id: str, as_json: bool, database_url: str | None) -> None:
    """Every charge made for ACCOUNT_ID, with its outcome and receipt."""
    from seatwise.engine.payments import attempts_of

    try:
        made = attempts_of(_engine(database_url), account_id)
    except SeatwiseError as error:
        _fail(error)
        return
    rows = [
        {
            "invoice": a.attempt.invoice,
            "attempt": a.number,
            "at": iso(a.attempt.at),
            "method": a.attempt.method,
            "amount_minor": a.amount,
            "succeeded": a.attempt.succeeded,
            "reason": a.attempt.reason,
            "receipt": a.receipt,
        }
        for a in made
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        outcome = f"paid ({row['receipt']})" if row["succeeded"] else f"failed: {row['reason']}"
        click.echo(f"{row['at']}  {row['invoice']} #{row['attempt']}  {row['method']}  {outcome}")


@main.command()
@click.argument("number")
@DATABASE_OPTION
def receipt(number: str, database_url: str | None) -> None:
    """Print the receipt(s) of invoice NUMBER."""
    from seatwise.engine.payments import receipts

    try:
        found = receipts(_engine(database_url), number)
    except SeatwiseError as error:
        _fail(error)
        return
    if not found:
        click.echo(f"{number} has no payment yet")
        return
    for r in found:
        click.echo(
            f"Receipt {r.receipt}: {r.amount} received for {r.invoice} ({r.account}) on "
            f"{iso(r.paid_at)} by {r.method}"
            + (f", reference {r.reference}" if r.reference else "")
        )


@main.group()
def webhooks() -> None:
    """Webhook endpoints: where billing events are POSTed, signed (Standard Webhooks)."""


@webhooks.command("add")
@click.argument("url")
@DATABASE_OPTION
def webhooks_add(url: str, database_url: str | None) -> None:
    """Send every billing event from now on to URL too; prints the signing secret."""
    from seatwise.engine.payments import add_webhook_endpoint

    try:
        endpoint = add_webhook_endpoint(_engine(database_url), url, SystemClock())
    except SeatwiseError as error:
        _fail(error)
        return
    click.echo(f"endpoint {endpoint.id}: {endpoint.url}\nsecret: {endpoint.secret}")


@webhooks.command("list")
@DATABASE_OPTION
def webhooks_list(database_url: str | None) -> None:
    """The active endpoints."""
    from seatwise.store import payments_repository

    with _engine(database_url).connect() as connection:
        for endpoint in payments_repository.endpoints(connection):
            click.echo(f"{endpoint.id}  {endpoint.url}")


@main.command()
@click.option("--account", "account_id", help="Only this account's messages.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@DATABASE_OPTION
def outbox(account_id: str | None, as_json: bool, database_url: str | None) -> None:
    """The messages queued by billing (emails, webhooks) and how their delivery went."""
    from seatwise.store import payments_repository

    with _engine(database_url).connect() as connection:
        rows = payments_repository.outbox_of(connection, account_id)
    data: list[dict[str, Any]] = [
        {
            "id": row.id,
            "account": row.message.account_id,
            "at": iso(row.message.at),
            "kind": row.message.kind,
            "channel": row.message.channel,
            "to": list(row.message.recipients),
            "invoice": row.message.invoice,
            "status": row.status,
            "attempts": row.attempts,
            "last_error": row.last_error,
        }
        for row in rows
    ]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for item in data:
        click.echo(
            f"#{item['id']} {item['at']} {item['kind']} {item['channel']} "
            f"{', '.join(item['to'])} {item['invoice'] or ''}: {item['status']}"
            f" after {item['attempts']} attempt(s)"
            + (f" ({item['last_error']})" if item["last_error"] else "")
        )


@main.command()
@click.option(
    "--loop",
    "every",
    type=float,
    help="Keep running, looking for due messages every this many seconds.",
)
@DATABASE_OPTION
def deliver(every: float | None, database_url: str | None) -> None:
    """Deliver the emails and webhooks due now from the outbox (retries included). Emails need
    SMTP settings (SEATWISE_SMTP_HOST …); without them they wait in the outbox."""
    import time

    from seatwise.collect.email import EmailError, SmtpMailer, SmtpSettings
    from seatwise.collect.outbox import deliver_due, vendor_name

    engine = _engine(database_url)
    try:
        mailer: SmtpMailer | None = SmtpMailer(SmtpSettings.from_environment())
    except EmailError as error:
        click.echo(f"emails wait: {error}", err=True)
        mailer = None
    while True:
        report = deliver_due(engine, SystemClock(), mailer, vendor=vendor_name())
        click.echo(
            f"delivered {report.delivered}, to retry {report.retrying}, failed {report.failed}"
        )
        if every is None:
            return
        time.sleep(every)


if __name__ == "__main__":  # pragma: no cover
    main()
