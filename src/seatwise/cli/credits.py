"""``seatwise credits``: price quotes, purchases, and the wallet with its ledger."""

from __future__ import annotations

import click

from seatwise.cli.app import main
from seatwise.cli.common import DATABASE_OPTION, echo_json, instant, store
from seatwise.core.credits import CHECKOUT, ON_INVOICE
from seatwise.core.money import currency
from seatwise.core.periods import iso
from seatwise.engine.clock import SystemClock


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

    click.echo(quote_credits(store(database_url), account_id, count).text())


@credits.command("buy")
@click.argument("account_id")
@click.argument("count", type=int)
@click.option(
    "--collection",
    type=click.Choice([CHECKOUT, ON_INVOICE]),
    default=CHECKOUT,
    show_default=True,
    help="charge_automatically: a checkout, charged at once to the payment method on file; "
    "send_invoice: sold on an invoice paid by transfer.",
)
@click.option("--at", "at_text", help="When it was bought (default: now). Never in the future.")
@DATABASE_OPTION
def credits_buy(
    account_id: str, count: int, collection: str, at_text: str | None, database_url: str | None
) -> None:
    """Buy COUNT credits for ACCOUNT_ID: a `credits` invoice is issued at once and, for a
    checkout, charged at once; the credits are added when it is paid."""
    from seatwise.engine.credits import buy_credits

    at = None if at_text is None else instant(at_text)
    bought = buy_credits(store(database_url), account_id, count, SystemClock(), collection, at)
    invoice = bought.invoice
    cur = currency(invoice.currency_code)
    (line,) = [line for line in invoice.invoice.lines if line.kind == "credits_purchase"]
    price = f"{count} × {cur.display(line.unit_price or 0)}"
    click.echo(
        f"{invoice.number}: {count} credits for {cur.display(invoice.invoice.total)} ({price})"
    )
    for made in bought.attempts:
        if made.attempt.succeeded:
            click.echo(f"  paid: {made.attempt.reason or f'charged to {made.attempt.method}'}, "
                       f"receipt {made.receipt}")  # fmt: skip
        else:
            click.echo(f"  charge to {made.attempt.method} declined: {made.attempt.reason}")
    if bought.paid:
        click.echo(f"  the credits are in the wallet: balance {bought.balance}, assigned "
                   f"{bought.assigned}")  # fmt: skip
    elif collection == ON_INVOICE:
        click.echo(f"  sent for payment by transfer, due {iso(invoice.invoice.due_at)}; the "
                   "credits arrive when it is paid (`seatwise mark-paid`)")  # fmt: skip
    else:
        click.echo("  the invoice stays open and the charge is retried; the credits arrive "
                   "when it is paid")  # fmt: skip


@credits.command("show")
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@DATABASE_OPTION
def credits_show(account_id: str, as_json: bool, database_url: str | None) -> None:
    """The wallet of ACCOUNT_ID: balance, assigned, open reservations and the whole ledger."""
    from seatwise.engine.credits import wallet
    from seatwise.report import wallet_json, wallet_text

    view = wallet(store(database_url), account_id, SystemClock().now())
    if as_json:
        echo_json(wallet_json(view))
    else:
        click.echo(wallet_text(view))
