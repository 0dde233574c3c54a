"""``seatwise credits``: price quotes, purchases, and the wallet with its ledger."""

from __future__ import annotations

import click

from seatwise.cli.app import main
from seatwise.cli.common import DATABASE_OPTION, echo_json, store
from seatwise.core.money import currency
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
@DATABASE_OPTION
def credits_buy(account_id: str, count: int, database_url: str | None) -> None:
    """Buy COUNT credits now: a `credits` invoice is issued at once; the credits are added when
    it is paid (at once when the plan charges a payment method automatically)."""
    from seatwise.engine.credits import buy_credits

    invoice = buy_credits(store(database_url), account_id, count, SystemClock())
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

    view = wallet(store(database_url), account_id, SystemClock().now())
    if as_json:
        echo_json(wallet_json(view))
    else:
        click.echo(wallet_text(view))
