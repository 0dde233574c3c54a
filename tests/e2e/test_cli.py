"""The `seatwise` command as a user runs it: a real process, its output and exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCENARIOS = Path(__file__).parents[1] / "scenarios"


def seatwise(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seatwise.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_simulate_json_prints_spec_5_amounts() -> None:
    done = seatwise("simulate", str(SCENARIOS / "spec5_contract_remaining_unused.yaml"), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) == {"name", "currency", "invoices", "notifications", "account"}
    amounts = {line["kind"]: line["amount"] for line in doc["invoices"][1]["lines"]}
    assert amounts == {"remaining_time": "8176.64", "unused_time": "-7977.21"}


def test_simulate_table_is_readable() -> None:
    done = seatwise("simulate", str(SCENARIOS / "spec5_contract_remaining_unused.yaml"))
    assert done.returncode == 0
    assert "Remaining time on 82 × Seat after 15 Mar 2021" in done.stdout
    assert "8176.64" in done.stdout and "INV-000002" in done.stdout


def test_invalid_scenario_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "plan: {price: '1.00'}\naccount: {subscribed_at: 2024-01-01T00:00:00Z}\n"
        "events:\n  - {at: 2024-02-01T00:00:00Z, deactivate: [nobody]}\n"
        "until: 2024-03-01T00:00:00Z\n"
    )
    done = seatwise("simulate", str(bad), "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"{bad}:4: events[0].deactivate: unknown member 'nobody'" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_file_exits_2() -> None:
    done = seatwise("simulate", "/nonexistent/scenario.yaml")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_check_reports_a_difference(tmp_path: Path) -> None:
    text = (SCENARIOS / "minimum_seats_advance.yaml").read_text()
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        text.replace(
            'total: "50.00", lines: [{kind: seats, quantity: 5}]}\n    - {kind: renewal',
            'total: "51.00", lines: [{kind: seats, quantity: 5}]}\n    - {kind: renewal',
        )
    )
    done = seatwise("simulate", str(wrong), "--check")
    assert done.returncode == 1
    assert "invoices[0].total: expected 51.00, got 50.00" in done.stderr


def test_demo_prints_a_year_for_every_preset(tmp_path: Path) -> None:
    done = seatwise("demo", "--database", str(tmp_path / "demo.db"))
    assert done.returncode == 0, done.stderr
    for preset_word in ("licences", "active users", "seats monthly", "seats annual", "contract"):
        assert preset_word in done.stdout.lower()
    assert "See umbrella's billing page, as its billing admin ada does:" in done.stdout
    assert "http://127.0.0.1:8000/billing/enter?token=sw_link_" in done.stdout
    # it ends with Globex's year under the five presets, and their report beside the file
    assert "1_licences_annual's year under all five presets" in done.stdout
    assert "own plan (licences-annual)" in done.stdout and "contract-annual" in done.stdout
    assert "$25,368.66" not in done.stdout  # the renewal at `until` is the next period's
    assert "<svg" in (tmp_path / "demo-comparison.html").read_text(encoding="utf-8")


def test_pdf_writes_the_same_bytes_in_every_process(tmp_path: Path) -> None:
    import io

    import pypdf

    database = f"sqlite:///{tmp_path / 'demo.db'}"
    assert seatwise("demo", "--database", str(tmp_path / "demo.db")).returncode == 0
    out = tmp_path / "a.pdf"
    first = seatwise("pdf", "INV-000002", "-o", str(out), "--database-url", database)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"{tmp_path / 'a.pdf'} (")
    second = seatwise(
        "pdf", "INV-000002", "-o", str(tmp_path / "b.pdf"), "--database-url", database
    )
    assert second.returncode == 0, second.stderr
    data = (tmp_path / "a.pdf").read_bytes()
    assert data == (tmp_path / "b.pdf").read_bytes()
    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Invoice\nINV-000002\n" in text
    listed = seatwise("invoices", "2_active_users_monthly", "--json", "--database-url", database)
    paid = next(i["number"] for i in json.loads(listed.stdout) if i["status"] == "paid")
    receipt = seatwise("pdf", paid, "--receipt", "--database-url", database, cwd=tmp_path)
    assert receipt.returncode == 0, receipt.stderr
    assert (tmp_path / f"{paid}-receipt.pdf").read_bytes().startswith(b"%PDF-")


def test_billing_link_prints_a_one_time_link(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'demo.db'}"
    assert seatwise("demo", "--database", str(tmp_path / "demo.db")).returncode == 0
    done = seatwise(
        "billing-link",
        "umbrella",
        "ada",
        "--url",
        "https://billing.example",
        "--database-url",
        database,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("https://billing.example/billing/enter?token=sw_link_")
    assert "for ada of umbrella; valid until" in done.stderr


def test_help_everywhere() -> None:
    for args in (("--help",), ("simulate", "--help"), ("demo", "--help")):
        done = seatwise(*args)
        assert done.returncode == 0 and "Usage" in done.stdout


def test_explain_prints_why_each_line_exists() -> None:
    done = seatwise("simulate", str(SCENARIOS / "spec9_contract_two_interims.yaml"), "--explain")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # explanations are wrapped
    assert "Seats went from 81 to 83 on 15 Mar 2021 (m81, m82 activated)" in text
    assert "337/365 days of the term 15 Feb 2021 – 15 Feb 2022" in text
    assert "(m1, m2, m3, m4, m5 and 76 more activated)" in text


def test_migrate_creates_the_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "billing.db"
    done = seatwise("migrate", "--database-url", f"sqlite:///{database}")
    assert done.returncode == 0, done.stderr
    assert "schema up to date" in done.stdout and database.exists()


def test_import_bill_and_list_invoices_like_simulate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    scenario = str(SCENARIOS / "spec9_contract_two_interims.yaml")
    assert seatwise("migrate", "--database-url", url).returncode == 0
    done = seatwise("import", scenario, "--account-id", "acme", "--database-url", url)
    assert done.returncode == 0, done.stderr
    until = "2022-02-16T00:00:00Z"
    done = seatwise("bill", "--until", until, "--database-url", url)
    assert done.returncode == 0, done.stderr
    assert "3 invoice(s), 7 line(s)" in done.stdout
    rerun = seatwise("bill", "--until", until, "--database-url", url)
    assert "0 invoice(s), 0 line(s)" in rerun.stdout
    stored = json.loads(seatwise("invoices", "acme", "--json", "--database-url", url).stdout)
    simulated = json.loads(seatwise("simulate", scenario, "--json").stdout)["invoices"]
    extra = ("account", "currency", "amount_due", "credit_notes")
    assert [{k: v for k, v in i.items() if k not in extra} for i in stored] == simulated
    assert {(i["currency"], i["amount_due"], str(i["credit_notes"])) for i in stored} == {
        ("EUR", "0.00", "[]")  # charged at once and paid
    }
    table = seatwise("invoices", "acme", "--database-url", url).stdout
    assert table.splitlines()[0] == "Invoices of acme (EUR)"
    assert "INV-000001  initial   2021-02-15" in table and "€8,640.00" in table
    unknown = seatwise("invoices", "nobody", "--database-url", url)
    assert unknown.returncode == 2 and "no account 'nobody'" in unknown.stderr


def test_import_whose_account_id_is_another_plans_id(tmp_path: Path) -> None:
    """A plan 'acme' created over the API at another price: `import --account-id acme` stores
    the scenario's own plan under a new id, says so, and bills as `simulate` does (it was a
    "database error … run the command again", and so again and again)."""
    from seatwise.engine.clock import SystemClock
    from seatwise.engine.plans import create_plan
    from seatwise.store.database import make_engine

    url = f"sqlite:///{tmp_path / 'billing.db'}"
    scenario = str(SCENARIOS / "spec9_contract_two_interims.yaml")
    assert seatwise("migrate", "--database-url", url).returncode == 0
    engine = make_engine(url)
    other = {"preset": "seats-monthly", "currency": "EUR", "price": "1.00"}
    create_plan(engine, other, SystemClock(), "acme")
    engine.dispose()
    done = seatwise("import", scenario, "--account-id", "acme", "--database-url", url)
    assert done.returncode == 0, done.stderr
    first, said = done.stdout.splitlines()[:2]
    assert first.startswith("imported account acme (")
    assert said.startswith("its plan is plan_") and said.endswith(
        ": a different plan has the id acme already"
    )
    until = ("--until", "2022-02-16T00:00:00Z", "--database-url", url)
    assert "3 invoice(s), 7 line(s)" in seatwise("bill", *until).stdout
    stored = json.loads(seatwise("invoices", "acme", "--json", "--database-url", url).stdout)
    simulated = json.loads(seatwise("simulate", scenario, "--json").stdout)["invoices"]
    assert [i["total"] for i in stored] == [i["total"] for i in simulated]


def test_engine_commands_tell_a_customers_story(tmp_path: Path) -> None:
    """Record events, bill drafts, finalize, explain, project, credit and void, as an
    operator would, through the command line (SPEC 9's contract account)."""
    db = ("--database-url", f"sqlite:///{tmp_path / 'billing.db'}")
    scenario = str(SCENARIOS / "spec9_contract_two_interims.yaml")
    assert seatwise("migrate", *db).returncode == 0
    assert seatwise("import", scenario, "--account-id", "acme", *db).returncode == 0
    again = seatwise("import", scenario, "--account-id", "acme", *db)
    assert again.returncode == 2 and "account 'acme' exists already" in again.stderr

    future = seatwise("event", "acme", "activate", "zoe", "--at", "2150-01-01T00:00:00Z", *db)
    assert future.returncode == 2 and "is in the future" in future.stderr
    ghost = seatwise("event", "acme", "deactivate", "ghost", "--at", "2021-03-01T00:00:00Z", *db)
    assert ghost.returncode == 2 and "member 'ghost'" in ghost.stderr

    drafts = seatwise("bill", "--until", "2021-02-15T00:00:00Z", "--drafts", *db)
    assert "1 draft(s)" in drafts.stdout, drafts.stderr
    listed = json.loads(seatwise("invoices", "acme", "--drafts", "--json", *db).stdout)
    assert [(i["number"], i["status"], i["total"]) for i in listed] == [(None, "draft", "8640.00")]
    done = seatwise("finalize", "acme", *db)
    assert "finalized 1 invoice(s)" in done.stdout, done.stderr

    explained = seatwise("explain", "INV-000001", *db)
    assert explained.returncode == 0, explained.stderr
    text = " ".join(explained.stdout.split())
    assert "80 × Seat (at €108.00 / year)" in text
    assert "Charged in advance for the 80 agreed seat(s)" in text
    data = json.loads(seatwise("explain", "INV-000001", "--json", *db).stdout)
    assert data["amount_due"] == "0.00" and data["status"] == "paid"
    counted = data["lines"][0]["explanation"]["members"]
    assert len(counted) == 81 and "admin" in counted  # 81 members, 80 agreed seats

    late = seatwise("event", "acme", "activate", "zoe", "--at", "2021-02-20T00:00:00Z", *db)
    assert late.returncode == 0 and "recorded" in late.stdout, late.stderr
    projected = json.loads(
        seatwise("project", "acme", "--at", "2021-03-01T00:00:00Z", "--json", *db).stdout
    )
    assert "zoe" in projected["members"]
    assert [line["kind"] for line in projected["invoice"]["lines"]][:1] == ["seats"]

    note = seatwise("credit-note", "INV-000001", "--amount", "40.00", "--reason", "goodwill", *db)
    assert "credit note CN-000001: €40.00 on INV-000001" in note.stdout, note.stderr
    assert "€40.00 to the account's credit balance" in note.stdout
    void = seatwise("void", "INV-000001", "--reason", "test", *db)
    assert void.returncode == 2 and "INV-000001 is paid: it cannot become void" in void.stderr
    unknown = seatwise("explain", "INV-999999", *db)
    assert unknown.returncode == 2 and "no invoice numbered 'INV-999999'" in unknown.stderr


def test_credits_commands_quote_buy_assign_start_and_show_the_ledger(tmp_path: Path) -> None:
    db = ("--database-url", f"sqlite:///{tmp_path / 'credits.db'}")
    assert seatwise("migrate", *db).returncode == 0
    scenario = str(SCENARIOS / "credits_spec7_hundred_credits.yaml")
    assert seatwise("import", scenario, "--account-id", "acme", *db).returncode == 0

    quoted = seatwise("credits", "quote", "acme", "95", *db)
    assert quoted.stdout.strip() == "95 credits cost $950.00; 100 cost $900.00"
    bought = seatwise("credits", "buy", "acme", "5", *db)
    assert bought.returncode == 0, bought.stderr
    assert "5 credits for $50.00 (5 × $10.00)" in bought.stdout
    assert "paid: charged to succeeds, receipt RCT-" in bought.stdout
    assert "the credits are in the wallet: balance 100" in bought.stdout  # 95 + 5

    assigned = seatwise(
        "event", "acme", "assign", "m2", "--content", "ethics", "--credits", "150", *db
    )
    assert assigned.returncode == 0, assigned.stderr
    assert "wallet: balance 100, assigned 150" in assigned.stdout
    assert "alert: more credits assigned than the balance holds" in assigned.stdout
    started = seatwise("event", "acme", "start", "m2", "--content", "ethics", *db)
    assert "100 credit(s) spent" in started.stdout
    assert "50 credit(s) missing when m2 started ethics: charged as overage" in started.stdout
    again = seatwise("event", "acme", "start", "m2", "--content", "ethics", *db)
    assert again.returncode == 2 and "'ethics' was already started" in again.stderr
    unknown = seatwise("event", "acme", "assign", "zed", "--content", "x", "--credits", "1", *db)
    assert unknown.returncode == 2 and "unknown member" in unknown.stderr

    shown = json.loads(seatwise("credits", "show", "acme", "--json", *db).stdout)
    assert (shown["balance"], shown["assigned"]) == (0, 0)
    assert [(e["kind"], e["credits"]) for e in shown["ledger"]] == [
        ("purchase", 100),
        ("reservation", 5),
        ("spend", 5),
        ("purchase", 5),
        ("reservation", 150),
        ("spend", 100),
        ("overage", 50),
    ]
    plain = seatwise("credits", "show", "acme", *db).stdout
    assert plain.startswith("acme: balance 0, assigned 0")
    projected = json.loads(seatwise("project", "acme", "--json", *db).stdout)
    kinds = [line["kind"] for line in projected["invoice"]["lines"]]
    assert "credits_overage" in kinds


def test_payment_commands_collect_and_queue_messages(tmp_path: Path) -> None:
    db = ("--database-url", f"sqlite:///{tmp_path / 'paid.db'}")
    assert seatwise("migrate", *db).returncode == 0
    added = seatwise("webhooks", "add", "http://127.0.0.1:9/hooks", *db)
    assert added.returncode == 0 and "secret: whsec_" in added.stdout
    story = (SCENARIOS / "payment_method_update_retries_at_once.yaml").read_text()
    scenario = tmp_path / "story.yaml"  # its own endpoints left out: the one above hears
    scenario.write_text(story.replace("webhooks: [", "# webhooks: ["))
    imported = seatwise("import", str(scenario), "--account-id", "acme", "--notify-history", *db)
    assert imported.returncode == 0, imported.stderr
    billed = seatwise("bill", "--until", "2024-02-09T00:00:00Z", *db)
    assert "collected: 1 charge(s), 0 paid, 0 reminder(s)" in billed.stdout, billed.stderr
    assert (
        "2024-02-08T10:00:00Z  INV-000001 #1        $24.00  declines  failed: card declined"
        in seatwise("payments", "acme", *db).stdout
    )
    refused = seatwise("payment-method", "acme", "visa-4242", *db)
    assert refused.returncode == 2 and "not one the test gateway knows" in refused.stderr
    updated = seatwise("payment-method", "acme", "succeeds", "--at", "2024-02-09T15:00:00Z", *db)
    assert "charged INV-000001 (attempt 2): paid, receipt RCT-000001" in updated.stdout
    assert seatwise("receipt", "INV-000001", *db).stdout == (
        "Receipt RCT-000001: $24.00 received for invoice INV-000001 (acme) on "
        "2024-02-09T15:00:00Z, charged to payment method succeeds, reference "
        "test_acme/arrears/2024-01-07T10:00:00Z/2024-02-08T10:00:00Z/2\n"
    )
    queued = json.loads(seatwise("outbox", "--json", *db).stdout)
    assert [(m["kind"], m["channel"]) for m in queued] == [
        ("invoice_issued", "email"),
        ("invoice_issued", "webhook"),
        ("payment_failed", "email"),
        ("payment_failed", "webhook"),
        ("invoice_paid", "webhook"),
    ]
    delivered = seatwise("deliver", *db)
    assert "emails wait: SEATWISE_SMTP_HOST" in delivered.stderr
    assert "delivered 0, to retry 3, failed 0" in delivered.stdout  # nobody listens on :9
