"""`seatwise backtest` on both databases, as a user runs it (a real process, --json out).

The book: three example accounts (licences-annual $120, active-users-monthly $8,
seats-monthly $12, all USD) billed up to 1 January 2026, plus, where it matters, a EUR
contract and an account that bought credits.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from seatwise.store.database import migrate

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "src" / "seatwise" / "examples"
SCENARIOS = ROOT / "tests" / "scenarios"
BOOK = {
    "globex": EXAMPLES / "1_licences_annual.yaml",
    "initech": EXAMPLES / "2_active_users_monthly.yaml",
    "hooli": EXAMPLES / "3_seats_monthly.yaml",
}


def seatwise(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seatwise.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def ok(*args: str) -> str:
    done = seatwise(*args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def plan_file(folder: Path, scenario: Path, price: str | None = None) -> Path:
    """The scenario's `plan:` block as a plan file, its price replaced by ``price``."""
    plan = yaml.safe_load(scenario.read_text(encoding="utf-8"))["plan"]
    if price is not None:
        plan["price"] = price
    target = folder / f"{scenario.stem}{'-' + price if price else ''}.yaml"
    target.write_text(yaml.safe_dump(plan), encoding="utf-8")
    return target


@pytest.fixture
def book(database_url: str) -> str:
    migrate(database_url)
    for account, file in BOOK.items():
        ok("import", str(file), "--account-id", account, "--database-url", database_url)
    ok("bill", "--until", "2026-01-01T00:00:00Z", "--database-url", database_url)
    return database_url


def backtest(database_url: str, plan: Path, *args: str) -> dict[str, Any]:
    out = ok("backtest", "--plan", str(plan), "--json", "--database-url", database_url, *args)
    doc: dict[str, Any] = json.loads(out)
    return doc


def test_own_plans_differ_by_nothing_and_a_rise_of_ten_percent_is_ten_percent(
    book: str, tmp_path: Path
) -> None:
    """One book for three stories (each sets up the book anew otherwise): each account under
    its own plan, a 10% price rise on seat lines, and how far billing went."""
    own_plans_differ_by_nothing(book, tmp_path)
    a_rise_of_ten_percent_is_ten_percent_on_seat_lines(book, tmp_path)
    how_far_an_account_was_billed_only_moves_forward(book)


def own_plans_differ_by_nothing(book: str, tmp_path: Path) -> None:
    for account, scenario in BOOK.items():
        doc = backtest(book, plan_file(tmp_path, scenario), "--accounts", account)
        (row,) = doc["per_account"]
        assert row["account"] == account and row["error"] is None
        assert row["difference"] == "0.00", row
        assert row["new_invoices"] == row["old_invoices"] > 0
        assert doc["totals"]["difference"] == "0.00"
        assert all(month["difference"] == "0.00" for month in doc["months"])
        assert all(m["invoices"] == m["rebilled_invoices"] for m in doc["months"])
    hooli = backtest(book, plan_file(tmp_path, BOOK["hooli"]), "--accounts", "hooli")
    assert hooli["totals"]["invoiced"] == "2172.00"  # 12 renewals at $12 (as simulated)


def a_rise_of_ten_percent_is_ten_percent_on_seat_lines(book: str, tmp_path: Path) -> None:
    # $8 → $8.80 and $12 → $13.20: no line is prorated, so exactly +10%
    for account, price in (("initech", "8.80"), ("hooli", "13.20")):
        doc = backtest(book, plan_file(tmp_path, BOOK[account], price), "--accounts", account)
        totals = doc["totals"]
        old, new = Fraction(totals["seat_lines_invoiced"]), Fraction(totals["seat_lines_rebilled"])
        assert old > 0 and new == old * Fraction(11, 10), totals
        assert doc["pay_more"] == 1 and doc["pay_less"] == 0
    # $120 → $132 with prorations: each line is rounded once, so the total moves by 10% to
    # within half a cent per prorated line
    doc = backtest(book, plan_file(tmp_path, BOOK["globex"], "132.00"), "--accounts", "globex")
    old_cents = Fraction(doc["totals"]["seat_lines_invoiced"]) * 100
    new_cents = Fraction(doc["totals"]["seat_lines_rebilled"]) * 100
    assert old_cents == 1_264_866  # $12,000 + $488.22 + $160.44
    assert abs(new_cents - old_cents * Fraction(11, 10)) <= 1  # two prorated lines
    # 100 × $132, then 5 more for 297/365 days (53,704.11 cents) and 4 more for 122/365
    # (17,648.22 cents)
    assert new_cents == 1_320_000 + 53_704 + 17_648


def test_accounts_that_cannot_be_rebilled_are_reported_not_fatal(book: str, tmp_path: Path) -> None:
    ok(
        "import",
        str(EXAMPLES / "5_contract_annual.yaml"),
        "--account-id",
        "acme",
        "--database-url",
        book,
    )
    credits = SCENARIOS / "credits_spec7_hundred_credits.yaml"
    ok("import", str(credits), "--account-id", "buyer", "--database-url", book)
    ok("bill", "--until", "2026-01-01T00:00:00Z", "--database-url", book)
    ok("import", str(BOOK["hooli"]), "--account-id", "new", "--database-url", book)  # not billed
    rise = plan_file(tmp_path, BOOK["hooli"], "13.20")  # no credits in this plan
    report, table = tmp_path / "book.html", tmp_path / "book.csv"
    doc = backtest(book, rise, "--jobs", "2", "--report", str(report), "--csv", str(table))
    errors = {row["account"]: row["error"] for row in doc["per_account"] if row["error"]}
    assert errors["acme"] == "bills in EUR, the plan in USD"
    assert "credit" in errors["buyer"]
    assert errors["new"] == "never billed: run `seatwise bill` first"
    assert set(errors) == {"acme", "buyer", "new"}
    assert doc["accounts"] == 6 and doc["jobs"] == 2
    assert doc["pay_more"] + doc["pay_less"] + doc["pay_the_same"] == 3
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert [row["account"] for row in rows] == [
        "acme",
        "buyer",
        "globex",
        "hooli",
        "initech",
        "new",
    ]
    assert rows[0]["error"] == "bills in EUR, the plan in USD" and rows[0]["new_total"] == ""
    html = report.read_text(encoding="utf-8")
    assert "Accounts that could not be re-billed" in html and "<script" not in html


def test_wrong_input_is_one_line(database_url: str, tmp_path: Path) -> None:
    migrate(database_url)
    book = database_url
    plan = plan_file(tmp_path, BOOK["hooli"])
    cases = [
        (["--accounts", "nobody"], "no account 'nobody'"),
        (["--until", "2100-01-01T00:00:00Z"], "has not happened yet"),
        (["--until", "yesterday"], "--until"),
        (["--from", "2026-01-01T00:00:00Z", "--until", "2025-01-01T00:00:00Z"], "--from"),
        (["--jobs", "0"], "--jobs"),
    ]
    for args, said in cases:
        done = seatwise("backtest", "--plan", str(plan), "--database-url", book, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert said in done.stderr and "Traceback" not in done.stderr
    missing = seatwise("backtest", "--plan", str(tmp_path / "none.yaml"), "--database-url", book)
    assert missing.returncode == 2 and "cannot read the file" in missing.stderr


def how_far_an_account_was_billed_only_moves_forward(book: str) -> None:
    from datetime import UTC, datetime

    from seatwise.store import repository
    from seatwise.store.database import make_engine

    ok("bill", "--until", "2025-06-01T00:00:00Z", "--database-url", book)  # an earlier run
    engine = make_engine(book)
    with engine.connect() as connection:
        stored = repository.load_account(connection, "hooli")
    engine.dispose()
    assert stored.billed_until == datetime(2026, 1, 1, tzinfo=UTC)
