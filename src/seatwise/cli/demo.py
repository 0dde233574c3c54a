"""``seatwise demo``: a year of one customer under each preset, billed on an SQLite file, and
one more customer dated from today, to be seen on the billing page."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

import click

from seatwise.analysis.compare import Comparison, compare, own_policy, preset_policy
from seatwise.analysis.reports import comparison_report
from seatwise.analysis.tables import comparison_json, comparison_text
from seatwise.cli.app import fail, main
from seatwise.cli.simulation import example_files
from seatwise.core.presets import preset_names
from seatwise.engine.simulation import simulate as simulate_on_store
from seatwise.report import invoice_table
from seatwise.scenario import Scenario, parse_scenario
from seatwise.scenario_result import document

PAGE_ACCOUNT, PAGE_ADMIN = "umbrella", "ada"
COMPARED = "1_licences_annual"
DEMO_ACCOUNTS = {name.removesuffix(".yaml") for name, _ in example_files()} | {PAGE_ACCOUNT}


def billing_page_scenario(now: datetime) -> str:
    """The billing page's demo customer: annual licences with credits, five months old on
    ``now``, with more credits assigned than bought (the page shows the balance in red)."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def ago(days: int, hour: int = 9) -> str:
        return (today - timedelta(days=days, hours=-hour)).strftime("%Y-%m-%dT%H:%M:%SZ")

    return f"""\
name: Umbrella — the billing page's demo customer (licences-annual with credits)
plan:
  preset: licences-annual
  name: Umbrella Learning — annual licences
  currency: EUR
  price: "96.00"
  collection: charge_automatically
  reminders: []
  credits:
    unit_price: "10.00"
    tiers: [{{from: 1, price: "10.00"}}, {{from: 100, price: "9.00"}}]
account:
  subscribed_at: {ago(160, 0)}
  committed_seats: 20
  contacts: [finance@umbrella.example]
members:
  - {{id: ada, manage_billing: true, email: ada@umbrella.example}}
  - {{count: 19}}
events:
  - {{at: {ago(130)}, activate: 3}}
  - {{at: {ago(100)}, buy_credits: 100}}
  - {{at: {ago(95)}, assign: {{member: m1, content: onboarding, credits: 30}}}}
  - {{at: {ago(90)}, start: {{member: m1, content: onboarding}}}}
  - {{at: {ago(60)}, deactivate: [m2, m3]}}
  - {{at: {ago(30)}, assign: {{member: m4, content: security-201, credits: 50}}}}
  - {{at: {ago(29)}, assign: {{member: m5, content: privacy-101, credits: 40}}}}
  - {{at: {ago(10)}, activate: 1}}
until: {now.strftime("%Y-%m-%dT%H:%M:%SZ")}
"""


def five_presets(scenario: Scenario) -> Comparison:
    """The scenario under its own preset and the four others, at its price."""
    own = own_policy(scenario)
    others = [
        preset_policy(scenario, name)
        for name in preset_names()
        if name != scenario.plan_data.get("preset")
    ]
    return compare(scenario, [own, *others])


def check_demo_database(path: Path) -> None:
    """The demo empties its file first: only a file it made itself (or no file) may be."""
    import sqlite3

    if not path.exists():
        return
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            ids = {row[0] for row in connection.execute("SELECT id FROM accounts")}
    except sqlite3.Error:
        ids = {"(not a Seatwise database)"}
    if not ids <= DEMO_ACCOUNTS:
        fail(
            f"{path} is not a Seatwise demo database (it holds other data): choose another "
            "--database, or add --force to replace it"
        )


def how_to_run() -> str:
    """How the user can run `seatwise` from here: its path when it is not on the PATH."""
    program = Path(sys.argv[0])
    if program.name == "seatwise" and shutil.which("seatwise") != str(program.resolve()):
        try:
            return f"{program.resolve().relative_to(Path.cwd())}"
        except ValueError:
            return str(program.resolve())
    return "seatwise"


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document of every account.")
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("seatwise-demo.db"),
    show_default=True,
    help="The SQLite file the demo bills in (emptied first; only a demo's own file).",
)
@click.option("--force", is_flag=True, help="Replace --database even if it is not a demo's.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the comparison of the five presets is written, as an HTML report "
    "(default: beside --database, seatwise-demo-comparison.html).",
)
def demo(as_json: bool, database: Path, force: bool, report: Path | None) -> None:
    """Bill a realistic year of one customer for each preset, on an SQLite file, and print
    the invoices; then `seatwise invoices`, `explain` and `project` work on that file, and
    `seatwise serve` shows the printed billing-page link. Last, the first customer's year is
    compared under all five presets, in the terminal and in an HTML report."""
    from seatwise.branding import Branding
    from seatwise.engine.accounts import AccountChanges, update_account
    from seatwise.engine.billing_access import LINK_MINUTES, create_billing_link
    from seatwise.engine.clock import FixedClock, SystemClock
    from seatwise.store.database import make_engine, migrate
    from seatwise.store.repository import BillingAddress

    if not force:
        check_demo_database(database)
    database.unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    migrate(url)
    engine = make_engine(url)
    now = SystemClock().now().replace(microsecond=0)
    scenarios = [
        (name.removesuffix(".yaml"), parse_scenario(text, name)) for name, text in example_files()
    ]
    page = parse_scenario(billing_page_scenario(now), f"{PAGE_ACCOUNT}.yaml")
    scenarios.append((PAGE_ACCOUNT, page))
    documents = []
    for account_id, scenario in scenarios:
        doc = document(simulate_on_store(scenario, engine, account_id))
        documents.append({"account": account_id, **doc})
        if not as_json:
            click.echo("=" * 100)
            click.echo(f"account {account_id}")
            click.echo(invoice_table(doc))
            click.echo()
    address = BillingAddress(  # the address since the subscription: on every invoice
        "Umbrella Learning SAS", ("12 rue des Lilas", "75011 Paris"), "FR", "FR40123456789"
    )
    changes = AccountChanges(billing_address=address)
    update_account(engine, PAGE_ACCOUNT, changes, FixedClock(page.account.subscribed_at), "demo")
    link = create_billing_link(engine, PAGE_ACCOUNT, PAGE_ADMIN, SystemClock())
    page_link = link.url(Branding.from_environment().public_url or "http://127.0.0.1:8000")
    engine.dispose()
    comparison = five_presets(scenarios[0][1])
    report = report or database.with_name(f"{database.stem}-comparison.html")
    report.write_text(comparison_report(comparison), encoding="utf-8")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "database": url,
                    "accounts": documents,
                    "comparison": {"report": str(report), **comparison_json(comparison)},
                    "billing_page": {
                        "account": PAGE_ACCOUNT,
                        "member": PAGE_ADMIN,
                        "link": page_link,
                        "expires_at": link.expires_at.isoformat(),
                    },
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    program = how_to_run()
    click.echo("=" * 100)
    click.echo(f"{COMPARED}'s year under all five presets (`seatwise compare`):")
    click.echo(comparison_text(comparison, invoices=False))
    click.echo()
    click.echo(f"Every invoice of each, and the charts: {report}")
    click.echo(f"Billed on {database}. Explore it:")
    click.echo(f"  {program} invoices 1_licences_annual --database-url {url}")
    click.echo(f"  {program} explain INV-000002 --database-url {url}")
    click.echo(f"  {program} project 2_active_users_monthly --database-url {url}")
    click.echo()
    click.echo(f"See {PAGE_ACCOUNT}'s billing page, as its billing admin {PAGE_ADMIN} does:")
    click.echo(f"  {program} serve --database-url {url}")
    click.echo(f"  then open, within {LINK_MINUTES} minutes (it opens once):")
    click.echo(f"  {page_link}")
    click.echo(
        f"  (a new link: {program} billing-link {PAGE_ACCOUNT} {PAGE_ADMIN} --database-url {url})"
    )
    if program != "seatwise":
        click.echo("(or `. .venv/bin/activate` first, then plain `seatwise …`)")
