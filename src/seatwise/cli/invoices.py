"""Invoices: list, explain, project, and their lifecycle (void, paid, uncollectible, credit
notes)."""

from __future__ import annotations

import click

from seatwise.cli.app import main
from seatwise.cli.common import DATABASE_OPTION, echo_json, instant, store


@main.command(name="invoices")
@click.argument("account_id")
@click.option("--drafts", is_flag=True, help="Show the account's drafts instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with lines and credit notes).")
@DATABASE_OPTION
def invoices_command(
    account_id: str, drafts: bool, as_json: bool, database_url: str | None
) -> None:
    """The invoices issued to ACCOUNT_ID: number, kind, dates, period, total, amount due,
    status and credit notes."""
    from seatwise.engine.queries import invoices_of
    from seatwise.report import invoice_summary_json, invoices_text

    listed = invoices_of(store(database_url), account_id, drafts)
    if as_json:
        echo_json([invoice_summary_json(details) for details in listed])
    else:
        click.echo(invoices_text(account_id, listed))


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

    projected = projected_invoice(store(database_url), account_id, instant(at_text))
    if as_json:
        echo_json(projection_json(projected))
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

    details = explain_invoice(store(database_url), number)
    if as_json:
        echo_json(explanation_json(details))
    else:
        click.echo(explanation_text(details))


def _status_command(name: str, verb: str, help_text: str) -> None:
    paying = name == "mark-paid"

    @main.command(name=name, help=help_text)
    @click.argument("number")
    @click.option("--reason", required=not paying, help="Why, for the history.")
    @click.option("--at", "at_text", help="When (default: now): not before the invoice's issue.")
    @click.option(
        "--amount",
        hidden=not paying,
        help='mark-paid: the amount received, like "120.00"; checked against the amount due.',
    )
    @DATABASE_OPTION
    def command(
        number: str,
        reason: str | None,
        at_text: str | None,
        amount: str | None,
        database_url: str | None,
    ) -> None:
        from seatwise.engine import invoice_lifecycle
        from seatwise.engine.queries import explain_invoice

        engine = store(database_url)
        at = instant(at_text)
        if paying:
            received = None
            if amount is not None:
                received = explain_invoice(engine, number).currency.parse(amount)
            invoice_lifecycle.mark_paid(
                engine, number, at, reason or invoice_lifecycle.PAID_BY_HAND, amount=received
            )
        elif amount is not None:
            raise click.UsageError(f"--amount has no meaning for `{name}`")
        elif name == "void":
            invoice_lifecycle.void(engine, number, at, reason or "")
        else:
            invoice_lifecycle.mark_uncollectible(engine, number, at, reason or "")
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
_status_command(
    "mark-paid",
    "marked paid",
    "Record that invoice NUMBER was paid outside Seatwise (a transfer), with a receipt.",
)


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

    engine = store(database_url)
    cur = explain_invoice(engine, number).currency
    issued = issue_credit_note(engine, number, to_minor(amount, cur), reason, instant(at_text))
    where = (
        f"; {cur.display(issued.to_balance)} to the account's credit balance"
        if issued.to_balance
        else ""
    )
    click.echo(
        f"credit note {issued.number}: {cur.display(issued.amount)} on {number} "
        f"(now {issued.invoice_status}){where}"
    )
