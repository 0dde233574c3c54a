"""Getting paid: payment methods, charges and receipts, webhook endpoints, the outbox and its
worker."""

from __future__ import annotations

from typing import Any

import click

from seatwise.cli.app import main
from seatwise.cli.common import DATABASE_OPTION, echo_json, instant, store
from seatwise.core.periods import iso
from seatwise.engine.clock import SystemClock


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

    updated = set_payment_method(
        store(database_url), account_id, method, SystemClock(), instant(at_text)
    )
    click.echo(f"{account_id} pays with {method} from {iso(updated.at)}")
    for made in updated.attempts:
        outcome = f"paid, receipt {made.receipt}" if made.attempt.succeeded else made.attempt.reason
        click.echo(f"  charged {made.attempt.invoice} (attempt {made.number}): {outcome}")


@main.command()
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@DATABASE_OPTION
def payments(account_id: str, as_json: bool, database_url: str | None) -> None:
    """Every charge made for ACCOUNT_ID and every payment recorded by hand: amount, outcome,
    receipt."""
    from seatwise.engine.payments import attempts_of

    made = attempts_of(store(database_url), account_id)
    cur = made.currency
    rows = [
        {
            "invoice": a.attempt.invoice,
            "attempt": a.number,
            "at": iso(a.attempt.at),
            "method": a.attempt.method,
            "currency": cur.code,
            "amount": cur.format(a.amount),
            "amount_minor": a.amount,
            "succeeded": a.attempt.succeeded,
            "reason": a.attempt.reason,
            "receipt": a.receipt,
        }
        for a in made.attempts
    ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"{account_id}: no payments yet")
    for row, attempt in zip(rows, made.attempts, strict=True):
        outcome = f"paid ({row['receipt']})" if row["succeeded"] else f"failed: {row['reason']}"
        click.echo(
            f"{row['at']}  {row['invoice']} #{row['attempt']}  "
            f"{cur.display(attempt.amount):>12}  {row['method']}  {outcome}"
        )


@main.command()
@click.argument("number")
@DATABASE_OPTION
def receipt(number: str, database_url: str | None) -> None:
    """Print the receipt(s) of invoice NUMBER."""
    from seatwise.engine.payments import receipts

    found = receipts(store(database_url), number)
    if not found:
        click.echo(f"{number} has no payment yet")
    for proof in found:
        click.echo(proof.text())


@main.group()
def webhooks() -> None:
    """Webhook endpoints: where billing events are POSTed, signed (Standard Webhooks)."""


@webhooks.command("add")
@click.argument("url")
@DATABASE_OPTION
def webhooks_add(url: str, database_url: str | None) -> None:
    """Send every billing event from now on to URL too; prints the signing secret."""
    from seatwise.engine.payments import add_webhook_endpoint

    endpoint = add_webhook_endpoint(store(database_url), url, SystemClock())
    click.echo(f"endpoint {endpoint.id}: {endpoint.url}\nsecret: {endpoint.secret}")


@webhooks.command("list")
@DATABASE_OPTION
def webhooks_list(database_url: str | None) -> None:
    """The active endpoints."""
    from seatwise.engine.payments import webhook_endpoints

    found = webhook_endpoints(store(database_url))
    if not found:
        click.echo("(no webhook endpoints: `seatwise webhooks add URL`)")
    for endpoint in found:
        click.echo(f"{endpoint.id}  {endpoint.url}")


@webhooks.command("remove")
@click.argument("endpoint_id", type=int)
@DATABASE_OPTION
def webhooks_remove(endpoint_id: int, database_url: str | None) -> None:
    """Send nothing more to endpoint ENDPOINT_ID (its undelivered messages are skipped)."""
    from seatwise.engine.payments import remove_webhook_endpoint

    remove_webhook_endpoint(store(database_url), endpoint_id)
    click.echo(f"endpoint {endpoint_id} removed")


@webhooks.command("rotate-secret")
@click.argument("endpoint_id", type=int)
@DATABASE_OPTION
def webhooks_rotate(endpoint_id: int, database_url: str | None) -> None:
    """A new signing secret for endpoint ENDPOINT_ID, used from now on; prints it once."""
    from seatwise.engine.payments import rotate_webhook_secret

    endpoint = rotate_webhook_secret(store(database_url), endpoint_id)
    click.echo(f"endpoint {endpoint.id}: {endpoint.url}\nnew secret: {endpoint.secret}")


@main.command()
@click.option("--account", "account_id", help="Only this account's messages.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@DATABASE_OPTION
def outbox(account_id: str | None, as_json: bool, database_url: str | None) -> None:
    """The messages queued by billing (emails, webhooks) and how their delivery went."""
    from seatwise.store import outbox_repository as outbox_store

    with store(database_url).connect() as connection:
        rows = outbox_store.outbox_of(connection, account_id)
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
            "next_attempt_at": iso(row.next_attempt_at) if row.status == "pending" else None,
            "last_error": row.last_error,
        }
        for row in rows
    ]
    if as_json:
        echo_json(data)
        return
    if not data:
        click.echo("(the outbox is empty)")
    for item in data:
        retry = f", next try {item['next_attempt_at']}" if item["next_attempt_at"] else ""
        if item["status"] == "pending" and not item["attempts"]:
            retry = ""
        click.echo(
            f"#{item['id']} {item['at']} {item['kind']} {item['channel']} "
            f"{', '.join(item['to']) or '(purged)'} {item['invoice'] or ''}: {item['status']}"
            f" after {item['attempts']} attempt(s){retry}"
            + (f"\n    last error: {item['last_error']}" if item["last_error"] else "")
        )


@main.command()
@click.option(
    "--loop",
    "every",
    type=click.FloatRange(min=0, min_open=True),
    help="Keep running, looking for due messages every this many seconds.",
)
@DATABASE_OPTION
def deliver(every: float | None, database_url: str | None) -> None:
    """Deliver the emails and webhooks due now from the outbox (retries included). Emails need
    SMTP settings (SEATWISE_SMTP_HOST …); without them they wait in the outbox."""
    import time

    from seatwise.collect.email import SmtpMailer, SmtpNotConfigured, SmtpSettings
    from seatwise.collect.outbox import deliver_due, vendor_name

    engine = store(database_url)
    try:  # settings that cannot work are an error (exit 2); no settings: emails wait
        mailer: SmtpMailer | None = SmtpMailer(SmtpSettings.from_environment())
    except SmtpNotConfigured as error:
        click.echo(f"emails wait: {error}", err=True)
        mailer = None
    while True:
        report = deliver_due(engine, SystemClock(), mailer, vendor=vendor_name())
        click.echo(
            f"delivered {report.delivered}, to retry {report.retrying}, failed {report.failed}"
            + (f", not sent any more {report.skipped}" if report.skipped else "")
        )
        if every is None:
            return
        time.sleep(every)
