"""The billing page in a real browser (Debian's Chromium, driven by Playwright) against
`seatwise serve` in a real process, on SQLite and PostgreSQL: what a customer's billing admin
sees and does, from a one-time link to logging out.

The account is dated from today (the server reads the real clock): subscribed 40-odd days ago
on a seats-monthly plan at €10.00 a seat with credits (€10.00 each, €9.00 from 100), three
members holding seats, 10 credits bought ten days in (€100.00) and 13 assigned since. So it
was invoiced: INV-000001 initial 3 × €10.00 = €30.00, INV-000002 credits €100.00, and the
renewal a month in, €30.00; the renewal it would get now is €30.00 again. Another account
holds two invoices; the next one issued is INV-000006.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pypdf
import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, free_port, seatwise, serving
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine

from seatwise.core.credits import Assign
from seatwise.core.periods import add_months
from seatwise.core.seat_timeline import UTC_ZONE, MemberChange
from seatwise.engine.accounts import AccountSpec, NewMember, create_account
from seatwise.engine.billing_access import create_billing_link
from seatwise.engine.billing_run import bill
from seatwise.engine.clock import FixedClock
from seatwise.engine.credits import buy_credits
from seatwise.engine.plans import create_plan
from seatwise.engine.queries import invoices_of
from seatwise.engine.recording import record_event
from seatwise.store.database import make_engine, migrate

PLAN = {
    "preset": "seats-monthly",
    "name": "Team plan",
    "currency": "EUR",
    "price": "10.00",
    "credits": {
        "unit_price": "10.00",
        "tiers": [{"from": 1, "price": "10.00"}, {"from": 100, "price": "9.00"}],
    },
}
BRAND = {
    "SEATWISE_VENDOR_NAME": "Northwind Learning",
    "SEATWISE_SUPPORT_EMAIL": "billing@northwind.example",
}


def day(value: datetime | date) -> str:
    """A date as the page writes it in en_US: ``Oct 22, 2026``."""
    return f"{value:%b} {value.day}, {value.year}"


def ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


@dataclass
class Site:
    base: str
    database_url: str
    engine: Engine
    subscribed: datetime
    other_invoice: str
    renewal: str  # acme's renewal invoice (numbers follow issue instants across accounts)

    def link(self, account: str = "acme", member: str = "admin") -> str:
        done = seatwise("billing-link", account, member, "--url", self.base, env=self.env)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    @property
    def env(self) -> dict[str, str]:
        return {"SEATWISE_DATABASE_URL": self.database_url}


def world(database_url: str) -> tuple[Engine, datetime, str, str]:
    migrate(database_url)
    engine = make_engine(database_url)
    now = datetime.now(UTC).replace(microsecond=0)
    start = (now - timedelta(days=40)).replace(hour=9, minute=15, second=0)
    if start.day > 28:  # an anniversary every month on the same day
        start -= timedelta(days=start.day - 28)
    clock = FixedClock(start)
    create_plan(engine, PLAN, clock, "team")
    people = (
        NewMember("admin", manage_billing=True, email="admin@acme.example"),
        NewMember("m1"),
        NewMember("m2"),
        NewMember("viewer", state="invited"),
    )
    spec = AccountSpec("acme", "team", payment_method="succeeds", members=people)
    create_account(engine, spec, clock)
    clock.instant = start + timedelta(days=10)
    buy_credits(engine, "acme", 10, clock)
    for offset, member, content, credits in ((11, "m1", "course-a", 8), (12, "m2", "course-b", 5)):
        clock.instant = start + timedelta(days=offset)
        record_event(engine, "acme", Assign(clock.instant, member, content, credits), clock)
    boss = (NewMember("boss", manage_billing=True),)
    other = AccountSpec("other", "team", payment_method="succeeds", members=boss)
    create_account(engine, other, FixedClock(start))
    bill(engine, now, clock=FixedClock(now))
    other_invoice = invoices_of(engine, "other")[0].stored.number or ""
    issued = [(d.stored.invoice.kind, d.stored.number) for d in invoices_of(engine, "acme")]
    assert [kind for kind, _ in issued] == ["initial", "credits", "renewal"]
    assert issued[0][1] == "INV-000001" and issued[1][1] == "INV-000002"
    return engine, start, other_invoice, issued[2][1] or ""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    engine, start, other_invoice, renewal = world(database_url)
    with serving(database_url, BRAND, tmp_path / "serve.log") as base:
        yield Site(base, database_url, engine, start, other_invoice, renewal)
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield context.new_page()
    context.close()


def download(page: Page, name: str) -> list[str]:
    """Click the link named ``name``; the text of the PDF it downloads, page by page."""
    with page.expect_download() as started:
        page.get_by_role("link", name=name).first.click()
    data = Path(started.value.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]


def test_a_billing_admin_understands_and_manages_the_bill(site: Site, page: Page) -> None:
    start = site.subscribed
    renewal = add_months(start, 1, UTC_ZONE)
    next_renewal = add_months(start, 2, UTC_ZONE)
    page.goto(site.link())
    assert page.url == f"{site.base}/billing/"
    expect(page.get_by_role("heading", level=1)).to_contain_text("Billing of acme")
    expect(page.locator("header")).to_contain_text("Northwind Learning")
    # the plan and its calendar in words
    expect(page.locator("#subscription-summary")).to_contain_text("Team plan · €10.00 per seat")
    expect(page.locator(".calendar")).to_contain_text(
        f"Invoiced on the {ordinal(start.day)} of each month at 09:15 (UTC), in advance, for "
        "the month ahead: the seats held at renewal."
    )
    expect(page.locator("#subscription-summary")).to_contain_text(
        f"Next invoice: renewal on {day(next_renewal)}, 09:15, €30.00 as things stand."
    )
    # licences: 3 paid for this month, 3 in use
    expect(page.locator("#licences dd")).to_have_text(["3", "3", "0"])
    # the projected invoice and the members it counts, since when
    projected = page.locator("#projected")
    expect(projected).to_contain_text("3 × Seat (at €10.00 / month)")
    expect(projected).to_contain_text("Total: €30.00")
    rows = page.locator("#counted-members tbody tr")
    expect(rows).to_have_count(3)
    for member in ("admin", "m1", "m2"):
        expect(rows.filter(has_text=member)).to_contain_text(f"since {day(start)}")
    # credits: 13 assigned, 10 bought: the balance in red, with a warning
    balance = page.locator("#credit-balance")
    expect(balance).to_have_text("10")
    expect(balance).to_have_class(re.compile(r"\bred\b"))
    assert page.eval_on_selector("#credit-balance", "e => getComputedStyle(e).color") == (
        "rgb(185, 28, 28)"
    )
    expect(page.locator("#credits")).to_contain_text(
        "More credits are assigned (13) than you have (10): buy at least 3"
    )
    # a quote as the number is typed (htmx), then a checkout at the better rate
    page.get_by_label("How many credits?").fill("95")
    expect(page.locator("#quote")).to_contain_text("95 credits cost €950.00; 100 cost €900.00")
    page.get_by_role("button", name="Buy 100 credits for €900.00").click()
    notice = page.locator(".notice")
    expect(notice).to_contain_text("You bought 100 credits for €900.00 (invoice INV-000006, paid)")
    expect(notice).to_contain_text("Your balance is now 110 credits.")
    expect(balance).to_have_text("110")
    expect(balance).not_to_have_class(re.compile(r"\bred\b"))
    # the history: the credits invoice, its lines, its PDF and its receipt
    history = page.locator("#invoices")
    expect(history.locator("tbody tr")).to_have_count(4)
    expect(history.locator("tbody tr").first).to_contain_text("INV-000006")
    expect(history.locator("tbody tr").first).to_contain_text("€900.00")
    expect(history.locator("tbody tr").last.locator("td").first).to_have_text(day(start))
    page.get_by_role("link", name="INV-000006").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice INV-000006 paid")
    expect(page.locator("table")).to_contain_text("100 × Credit (at €9.00)")
    pdf = download(page, "Download PDF")[0]
    for said in ("Northwind Learning", "INV-000006", "100 × Credit (at €9.00) 100 €9.00 €900.00"):
        assert said in pdf
    assert "Total €900.00\nAmount due €0.00" in pdf and "PAID" in pdf
    receipt = download(page, "Download receipt")[0]
    assert "Receipt" in receipt and "Amount received €900.00" in receipt
    assert re.search(r"RCT-\d{6}", receipt)
    # the renewal's lines explained
    page.goto(f"{site.base}/billing/invoices/{site.renewal}")
    expect(page.locator("table")).to_contain_text("3 × Seat (at €10.00 / month)")
    page.get_by_text("Why this line").first.click()
    expect(page.locator(".explain").first).to_contain_text("admin, m1, m2")
    assert f"Period {day(renewal)} – {day(next_renewal)}" in download(page, "Download PDF")[0]
    # a new billing address: refused when wrong, then on the next invoice's PDF only
    page.goto(f"{site.base}/billing/")
    page.get_by_label("Name").fill("Acme Learning GmbH")
    page.get_by_label("Postal address").fill("Hauptstraße 5\n10115 Berlin")
    page.get_by_label("Country").fill("DE")
    page.get_by_label("Tax ID").fill("DE123456789")
    page.get_by_role("button", name="Save address").click()
    expect(notice).to_contain_text("Your billing address was saved")
    page.get_by_label("Country").fill("9")
    page.get_by_role("button", name="Save address").click()
    expect(page.locator("#details .error")).to_contain_text("'9' is not a country code like FR")
    page.goto(f"{site.base}/billing/?credits=5")
    page.get_by_role("button", name="Buy 5 credits for €50.00").click()
    expect(notice).to_contain_text("You bought 5 credits for €50.00 (invoice INV-000007, paid)")
    page.goto(f"{site.base}/billing/invoices/INV-000007")
    fresh = download(page, "Download PDF")[0]
    assert "Billed to\nAcme Learning GmbH\nHauptstraße 5\n10115 Berlin\nGermany\n" in fresh
    assert "Tax ID DE123456789" in fresh
    page.goto(f"{site.base}/billing/invoices/INV-000006")
    assert "Acme Learning GmbH" not in download(page, "Download PDF")[0]
    # cancel, with the words of what it does, then take it back
    page.goto(f"{site.base}/billing/")
    expect(page.locator("#subscription")).to_contain_text(
        f"If you cancel, the subscription ends on {day(next_renewal)}, 09:15"
    )
    page.get_by_role("link", name="Cancel the subscription…").click()
    confirm = page.locator("main")
    expect(confirm).to_contain_text(f"The subscription ends on {day(next_renewal)}, 09:15")
    expect(confirm).to_contain_text("Nothing more is invoiced")
    page.get_by_role("button", name="Cancel the subscription").click()
    expect(notice).to_contain_text("Your subscription is cancelled")
    expect(page.locator("#subscription")).to_contain_text(
        f"it ends on {day(next_renewal)}, 09:15, and you keep access until then"
    )
    page.get_by_role("button", name="Undo the cancellation").click()
    expect(notice).to_contain_text("The cancellation is undone")
    expect(page.locator("#subscription")).to_contain_text("If you cancel")
    # log out: the cookie opens nothing any more
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are logged out")
    answer = page.goto(f"{site.base}/billing/")
    assert answer is not None and answer.status == 401
    expect(page.get_by_role("heading", level=1)).to_have_text("Your billing session has ended")


def test_a_link_opens_once_within_15_minutes_for_a_billing_admin_only(
    site: Site, page: Page
) -> None:
    link = site.link()
    page.goto(link)
    answer = page.goto(link)
    assert answer is not None and answer.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This link was used already")
    stale = create_billing_link(
        site.engine, "acme", "admin", FixedClock(datetime.now(UTC) - timedelta(minutes=16))
    )
    answer = page.goto(stale.url(site.base))
    assert answer is not None and answer.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has expired")
    answer = page.goto(f"{site.base}/billing/enter?token=sw_link_forged")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    refused = seatwise("billing-link", "acme", "m1", env=site.env)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "member 'm1' does not have the Manage Billing permission" in refused.stderr
    # a link whose member lost access before it was opened
    link = site.link()
    now = datetime.now(UTC)
    record_event(site.engine, "acme", MemberChange(now, "admin", "deactivate"), FixedClock(now))
    answer = page.goto(link)
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "You cannot see this account's billing"
    )
    expect(page.locator("main")).not_to_contain_text("acme")


def test_a_cookie_of_one_account_never_opens_another(site: Site, page: Page) -> None:
    page.goto(site.link("acme", "admin"))
    for path in (
        f"/billing/invoices/{site.other_invoice}",
        f"/billing/invoices/{site.other_invoice}/invoice.pdf",
        f"/billing/invoices/{site.other_invoice}/receipt.pdf",
    ):
        answer = page.goto(f"{site.base}{path}") if path.endswith(site.other_invoice) else None
        fetched = page.request.get(f"{site.base}{path}")
        assert fetched.status == 404, (path, fetched.status)
        assert "other" not in fetched.text() and "boss" not in fetched.text()
        if answer is not None:
            assert answer.status == 404
            expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    own = page.request.get(f"{site.base}/billing/invoices/INV-000001/invoice.pdf")
    assert own.status == 200 and own.headers["content-type"] == "application/pdf"
    # a form posted from elsewhere (no CSRF token of this session) changes nothing
    posted = page.request.post(
        f"{site.base}/billing/contacts", form={"csrf": "forged", "emails": "evil@example.com"}
    )
    assert posted.status == 403
    page.goto(f"{site.base}/billing/")
    expect(page.locator("#emails")).to_have_value("")


def test_the_page_reads_on_a_phone_and_from_the_keyboard(site: Site, browser: Browser) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.goto(site.link())
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    phone.screenshot(path=str(SCREENSHOTS / "billing-page-phone.png"), full_page=True)
    # every field has a label; the first Tab reaches the skip link
    unlabelled = phone.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
           .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)"""
    )
    assert unlabelled == []
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent") == "Skip to the content"
    context.close()


def test_make_demo_then_serve_then_the_printed_link_shows_the_page(
    tmp_path: Path, browser: Browser
) -> None:
    """The README's promise: `seatwise demo`, `seatwise serve`, the printed link. Writes the
    desktop screenshot the README shows (docs/billing-page.png is a copy of it)."""
    import json

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = tmp_path / "seatwise-demo.db"
    done = seatwise(
        "demo", "--json", "--database", str(database), env={"SEATWISE_PUBLIC_URL": base}
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)["billing_page"]
    assert (shown["account"], shown["member"]) == ("umbrella", "ada")
    assert shown["link"].startswith(f"{base}/billing/enter?token=sw_link_")
    with serving(f"sqlite:///{database}", {}, tmp_path / "serve.log", port):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(shown["link"])
        expect(page.get_by_role("heading", level=1)).to_contain_text("Billing of umbrella")
        expect(page.locator(".calendar")).to_contain_text("in advance, for the year ahead")
        expect(page.locator("#licences dd")).to_have_text(["23", "22", "1", "20"])
        expect(page.locator("#credit-balance")).to_have_text("70")
        expect(page.locator("#credits")).to_contain_text("More credits are assigned (90)")
        expect(page.locator("#invoices tbody tr")).to_have_count(7)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "billing-page.png"), full_page=True)
        context.close()
