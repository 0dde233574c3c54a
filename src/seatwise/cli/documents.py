"""``seatwise pdf`` (an invoice or its receipt as a PDF file) and ``seatwise billing-link`` (a
one-time link to an account's billing page, for an operator or the demo)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from seatwise.cli.app import main
from seatwise.cli.common import DATABASE_OPTION, store
from seatwise.engine.clock import SystemClock


@main.command("pdf")
@click.argument("invoice")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write. Default: INVOICE.pdf (INVOICE-receipt.pdf), here.",
)
@click.option("--receipt", is_flag=True, help="The receipt of the paid invoice instead.")
@DATABASE_OPTION
def pdf(invoice: str, output: Path | None, receipt: bool, database_url: str | None) -> None:
    """Write invoice INVOICE (a number like INV-000002) as a PDF, as the billing page and the
    API serve it: the same invoice in the same state gives the same bytes."""
    from seatwise.branding import Branding
    from seatwise.documents.pdf import invoice_pdf, receipt_pdf

    branding = Branding.from_environment()
    engine = store(database_url)
    data = (receipt_pdf if receipt else invoice_pdf)(engine, invoice, branding)
    target = output or Path(f"{invoice}{'-receipt' if receipt else ''}.pdf")
    folder = target.resolve().parent
    if not folder.is_dir():
        raise click.UsageError(f"--output: the folder {folder} does not exist")
    with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".part") as part:
        part.write(data)  # written whole, then renamed: never a half-written PDF
    os.replace(part.name, target)
    click.echo(f"{target} ({len(data):,} bytes)")


@main.command("billing-link")
@click.argument("account")
@click.argument("member")
@click.option(
    "--url",
    envvar="SEATWISE_PUBLIC_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Where `seatwise serve` is reached (default: $SEATWISE_PUBLIC_URL).",
)
@DATABASE_OPTION
def billing_link(account: str, member: str, url: str, database_url: str | None) -> None:
    """Print a one-time link to ACCOUNT's billing page for MEMBER, an active member with the
    Manage Billing permission. It works for 15 minutes and opens the page once."""
    from seatwise.core.limits import check_url
    from seatwise.engine.billing_access import create_billing_link

    check_url(url, "--url")
    made = create_billing_link(store(database_url), account, member, SystemClock())
    click.echo(made.url(url))
    click.echo(
        f"for {member} of {account}; valid until {made.expires_at:%Y-%m-%d %H:%M} UTC, once",
        err=True,
    )
