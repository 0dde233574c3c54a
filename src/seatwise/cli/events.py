"""``seatwise event``: what happened to a member of an account, or to the account."""

from __future__ import annotations

import click

from seatwise.cli.app import main
from seatwise.cli.common import DATABASE_OPTION, instant, store
from seatwise.core.periods import iso
from seatwise.engine.clock import SystemClock
from seatwise.engine.recording import ACTIONS


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

    credit_action = action in ("assign", "start", "unassign")
    ignored = [
        option
        for option, given, used in (
            ("--email", email is not None, action in ("invite", "activate")),
            ("--manage-billing", manage_billing, action in ("invite", "activate")),
            ("--content", content is not None, credit_action),
            ("--credits", credits is not None, action == "assign"),
        )
        if given and not used
    ]
    if ignored:
        raise click.UsageError(f"{', '.join(ignored)} has no meaning for `{action}`")
    at = instant(at_text)
    change = make_event(action, at, member, content, credits)
    details = Member(member, manage_billing, email) if member else None
    recorded = record_event(
        store(database_url), account_id, change, SystemClock(), details, at_text is None
    )
    late = " (late: the next invoice will carry an adjustment)" if recorded.late else ""
    who = f" {member}" if member else ""
    what = f" {content}" if content and credit_action else ""
    click.echo(f"recorded #{recorded.seq}: {action}{who}{what} at {iso(recorded.at)}{late}")
    for entry in recorded.credit_entries:
        click.echo(f"  credits: {entry.note}")
    if recorded.credit_entries or action in ("assign", "start", "unassign"):
        click.echo(
            f"  wallet: balance {recorded.balance_after}, assigned {recorded.assigned_after}"
        )
    if recorded.alert:
        click.echo("  alert: more credits assigned than the balance holds")
