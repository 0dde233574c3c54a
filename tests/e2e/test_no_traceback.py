"""No traceback, ever: the `seatwise` command over a table of wrong input, broken databases
and misconfiguration. Each prints one line naming what is wrong and exits 2 (bad input) or 1
(an operational failure); none prints a traceback or changes anything."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from seatwise.cli import main

SCENARIOS = Path(__file__).parents[1] / "scenarios"
POSTGRES = os.environ.get("SEATWISE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCENARIO = """
plan: {preset: seats-monthly, currency: USD, price: "10.00", credits: {unit_price: "1.00"}}
account: {subscribed_at: 2025-01-01T00:00:00Z, committed_seats: COMMITTED}
members: [{count: 3}]
events: [{at: 2025-01-10T00:00:00Z, buy_credits: CREDITS}]
until: UNTIL
"""


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "seatwise.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with a migrated database holding account `acme` and invoice INV-000001, and
    the broken files the table below names."""
    folder = tmp_path_factory.mktemp("cases")
    db = f"sqlite:///{folder / 'ok.db'}"
    assert run("migrate", "--database-url", db)[0] == 0
    story = SCENARIO.replace("COMMITTED", "0").replace("CREDITS", "5")
    (folder / "acme.yaml").write_text(story.replace("UNTIL", "2025-02-01T00:00:00Z"))
    assert run("import", str(folder / "acme.yaml"), "--database-url", db)[0] == 0
    assert run("bill", "--until", "2025-02-01T00:00:00Z", "--database-url", db)[0] == 0
    (folder / "binary.yaml").write_bytes(bytes(range(256)))
    (folder / "latin1.yaml").write_bytes("name: café\n".encode("latin-1"))
    (folder / "text.db").write_text("not a database at all\n")
    (folder / "empty.db").write_bytes(b"")
    (folder / "a-folder.db").mkdir()
    for name, committed, credits, until in (
        ("committed", "10000000000", "5", "2025-02-01T00:00:00Z"),
        ("credits", "0", "1000000000000", "2025-02-01T00:00:00Z"),
        ("year9999", "0", "5", "9999-01-01T00:00:00Z"),
    ):
        text = SCENARIO.replace("COMMITTED", committed).replace("CREDITS", credits)
        (folder / f"{name}.yaml").write_text(text.replace("UNTIL", until))
    (folder / "future.yaml").write_text(  # until and an event after now
        SCENARIO.replace("COMMITTED", "0")
        .replace("CREDITS", "5")
        .replace("2025-01-10", "2149-01-10")
        .replace("UNTIL", "2150-01-01T00:00:00Z")
    )
    (folder / "plain.yaml").write_text('preset: seats-monthly\ncurrency: USD\nprice: "10.00"\n')
    (folder / "price.yaml").write_text(
        SCENARIO.replace('"10.00"', '"99999999999999.00"')
        .replace("COMMITTED", "0")
        .replace("CREDITS", "5")
        .replace("UNTIL", "2025-02-01T00:00:00Z")
    )
    yield folder


OK = "sqlite:///{}/ok.db"
CASES: list[tuple[str, list[str], dict[str, str], int, str]] = [
    # (name, arguments ({} is the folder), environment, exit status, words of the message)
    ("binary scenario", ["simulate", "{}/binary.yaml"], {}, 2, "not UTF-8 text"),
    ("latin-1 scenario", ["simulate", "{}/latin1.yaml"], {}, 2, "not UTF-8 text"),
    ("huge committed seats", ["simulate", "{}/committed.yaml"], {}, 2, "above the maximum"),
    ("huge price", ["simulate", "{}/price.yaml"], {}, 2, "above the maximum"),
    ("huge credits", ["simulate", "{}/credits.yaml"], {}, 2, "above the maximum"),
    ("year 9999", ["simulate", "{}/year9999.yaml"], {}, 2, "outside the supported years"),
    ("compare with nothing", ["compare", "{}/acme.yaml"], {}, 2, "name a plan to compare with"),
    (
        "compare: unknown preset",
        ["compare", "{}/acme.yaml", "--preset", "nope"],
        {},
        2,
        "unknown preset 'nope'",
    ),
    (
        "compare: no plan file",
        ["compare", "{}/acme.yaml", "--plan", "{}/none.yaml"],
        {},
        2,
        "cannot read the file",
    ),
    (
        "compare: binary plan",
        ["compare", "{}/acme.yaml", "--plan", "{}/binary.yaml"],
        {},
        2,
        "not UTF-8 text",
    ),
    (
        "compare: plan without credits",
        ["compare", "{}/acme.yaml", "--plan", "{}/plain.yaml"],
        {},
        2,
        "the plan has no credits",
    ),
    (
        "compare: report nowhere",
        ["compare", "{}/acme.yaml", "--preset", "seats-annual", "--report", "{}/none/r.html"],
        {},
        1,
        "No such file or directory",
    ),
    (
        "simulate: report nowhere",
        ["simulate", "{}/acme.yaml", "--report", "{}/none/r.html"],
        {},
        1,
        "No such file or directory",
    ),
    (
        "backtest: binary plan",
        ["backtest", "--plan", "{}/binary.yaml", "--database-url", OK],
        {},
        2,
        "not UTF-8 text",
    ),
    (
        "--at 9999",
        ["event", "acme", "activate", "zoe", "--at", "9999-01-01T00:00:00Z", "--database-url", OK],
        {},
        2,
        "outside the supported years",
    ),
    (
        "--at garbage",
        ["event", "acme", "activate", "zoe", "--at", "yesterday", "--database-url", OK],
        {},
        2,
        "not an ISO 8601 instant",
    ),
    (
        "unknown account: event",
        ["event", "nobody", "activate", "zoe", "--database-url", OK],
        {},
        2,
        "no account 'nobody'",
    ),
    (
        "unknown account: credits buy",
        ["credits", "buy", "nobody", "5", "--database-url", OK],
        {},
        2,
        "no account 'nobody'",
    ),
    (
        "unknown account: payment-method",
        ["payment-method", "nobody", "succeeds", "--database-url", OK],
        {},
        2,
        "no account 'nobody'",
    ),
    (
        "unknown account: project",
        ["project", "nobody", "--database-url", OK],
        {},
        2,
        "no account 'nobody'",
    ),
    (
        "unknown invoice",
        ["mark-paid", "INV-999999", "--database-url", OK],
        {},
        2,
        "no invoice numbered 'INV-999999'",
    ),
    (
        "huge quote",
        ["credits", "quote", "acme", "1" + "0" * 30, "--database-url", OK],
        {},
        2,
        "above the maximum",
    ),
    (  # a negative number is the argument it stands for, not an unknown option "-1"
        "negative quote",
        ["credits", "quote", "acme", "-1", "--database-url", OK],
        {},
        2,
        "credits: -1 is below the minimum of 1",
    ),
    (
        "negative purchase",
        ["credits", "buy", "acme", "-3", "--database-url", OK],
        {},
        2,
        "credits: -3 is below the minimum of 1",
    ),
    ("negative key id", ["keys", "revoke", "-1", "--database-url", OK], {}, 2, "no key -1"),
    (  # a number no row can have is of no row, not an overflow of the database
        "huge key id",
        ["keys", "revoke", "9999999999999999999999999", "--database-url", OK],
        {},
        2,
        "no key 9999999999999999999999999",
    ),
    (
        "huge endpoint id",
        ["webhooks", "remove", "9999999999999999999999999", "--database-url", OK],
        {},
        2,
        "no webhook endpoint 9999999999999999999999999",
    ),
    (
        "bad amount",
        ["credit-note", "INV-000001", "--amount", "1.001", "--reason", "x", "--database-url", OK],
        {},
        2,
        "more decimals",
    ),
    (
        "empty reason",
        ["void", "INV-000001", "--reason", " ", "--database-url", OK],
        {},
        2,
        "reason: must not be empty",
    ),
    (
        "ignored option",
        ["event", "acme", "activate", "zoe", "--content", "x", "--database-url", OK],
        {},
        2,
        "--content has no meaning for `activate`",
    ),
    (
        "over-long member id",
        ["event", "acme", "activate", "x" * 300, "--database-url", OK],
        {},
        2,
        "longer than 200",
    ),
    (
        "not an email",
        ["event", "acme", "activate", "zoe", "--email", "not an email", "--database-url", OK],
        {},
        2,
        "is not an email address",
    ),
    (
        "future until",
        ["bill", "--until", "2150-01-01T00:00:00Z", "--database-url", OK],
        {},
        2,
        "is in the future",
    ),
    (
        "future import",
        ["import", "{}/future.yaml", "--database-url", OK],
        {},
        2,
        "is in the future",
    ),
    (
        "deliver --loop -1",
        ["deliver", "--loop", "-1", "--database-url", OK],
        {},
        2,
        "Invalid value for '--loop'",
    ),
    ("not a URL", ["invoices", "acme", "--database-url", "not-a-url"], {}, 2, "is not a URL"),
    (
        "mysql",
        ["invoices", "acme", "--database-url", "mysql://root@127.0.0.1/test"],
        {},
        2,
        "SQLite or PostgreSQL, not 'mysql'",
    ),
    (
        "PostgreSQL wrong port",
        ["invoices", "acme", "--database-url", "postgresql://postgres@127.0.0.1:1/test"],
        {},
        1,
        "could not be reached",
    ),
    (
        "PostgreSQL wrong host",
        [
            "invoices",
            "acme",
            "--database-url",
            "postgresql://postgres@no-such-host.invalid:5432/test",
        ],
        {},
        1,
        "could not be reached",
    ),
    (
        "PostgreSQL wrong database",
        ["invoices", "acme", "--database-url", POSTGRES.rsplit("/", 1)[0] + "/no_such_db"],
        {},
        1,
        "does not exist",
    ),
    (
        "PostgreSQL not migrated",
        ["invoices", "acme", "--database-url", POSTGRES.replace("/test", "/postgres")],
        {},
        2,
        "not a Seatwise database yet: run `seatwise migrate`",
    ),
    (
        "SQLite path is a folder",
        ["invoices", "acme", "--database-url", "sqlite:///{}/a-folder.db"],
        {},
        2,
        "is a folder, not a database file",
    ),
    (
        "SQLite in a missing folder",
        ["migrate", "--database-url", "sqlite:///{}/missing/x.db"],
        {},
        2,
        "does not exist",
    ),
    (
        "SQLite not a database",
        ["invoices", "acme", "--database-url", "sqlite:///{}/text.db"],
        {},
        1,
        "is not an SQLite database",
    ),
    (
        "SQLite not migrated",
        ["invoices", "acme", "--database-url", "sqlite:///{}/empty.db"],
        {},
        2,
        "run `seatwise migrate`",
    ),
    (
        "no database yet",
        ["invoices", "acme"],
        {"SEATWISE_DATABASE_URL": ""},
        2,
        "no Seatwise database at seatwise.db: run `seatwise migrate`",
    ),
    (
        "SMTP port",
        ["deliver", "--database-url", OK],
        {"SEATWISE_SMTP_HOST": "127.0.0.1", "SEATWISE_SMTP_PORT": "abc"},
        2,
        "SEATWISE_SMTP_PORT",
    ),
    (
        "SMTP security",
        ["deliver", "--database-url", OK],
        {"SEATWISE_SMTP_HOST": "127.0.0.1", "SEATWISE_SMTP_SECURITY": "ssl3"},
        2,
        "SEATWISE_SMTP_SECURITY",
    ),
    (
        "gateway",
        ["payment-method", "acme", "succeeds", "--database-url", OK],
        {"SEATWISE_GATEWAY": "no.such.module:make"},
        2,
        "SEATWISE_GATEWAY: cannot load",
    ),
    (
        "webhook URL",
        ["webhooks", "add", "ftp://x", "--database-url", OK],
        {},
        2,
        "is not an http(s) URL",
    ),
    (
        "webhook endpoint",
        ["webhooks", "remove", "42", "--database-url", OK],
        {},
        2,
        "no webhook endpoint 42",
    ),
    ("pdf: unknown invoice", ["pdf", "INV-999999", "--database-url", OK], {}, 2, "no invoice"),
    (
        "pdf: missing folder",
        ["pdf", "INV-000001", "-o", "{}/missing/x.pdf", "--database-url", OK],
        {},
        2,
        "does not exist",
    ),
    (
        "pdf: bad locale",
        ["pdf", "INV-000001", "--database-url", OK],
        {"SEATWISE_LOCALE": "xx_YY_ZZ"},
        2,
        "SEATWISE_LOCALE",
    ),
    (
        "billing-link: unknown account",
        ["billing-link", "nobody", "admin", "--database-url", OK],
        {},
        2,
        "no account 'nobody'",
    ),
    (
        "billing-link: no permission",
        ["billing-link", "acme", "m1", "--database-url", OK],
        {},
        2,
        "member 'm1' does not have the Manage Billing permission",
    ),
    (
        "billing-link: bad URL",
        ["billing-link", "acme", "m1", "--url", "javascript:alert(1)", "--database-url", OK],
        {},
        2,
        "is not an http(s) URL",
    ),
    (
        "serve: bad accent colour",
        ["serve", "--database-url", OK],
        {"SEATWISE_ACCENT_COLOR": "red"},
        2,
        "SEATWISE_ACCENT_COLOR: 'red' is not a colour like #1d4ed8",
    ),
    (
        "serve: logo missing",
        ["serve", "--database-url", OK],
        {"SEATWISE_VENDOR_LOGO": "/no/such/logo.png"},
        2,
        "SEATWISE_VENDOR_LOGO",
    ),
]


@pytest.mark.parametrize(
    ("name", "arguments", "env", "status", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_wrong_input_gets_one_clear_line_and_no_traceback(
    place: Path, name: str, arguments: list[str], env: dict[str, str], status: int, words: str
) -> None:
    args = [argument.replace("{}", str(place)) for argument in arguments]
    code, out, err = run(*args, cwd=place, env=env)
    assert "Traceback" not in out + err, name
    assert code == status, (name, err)
    assert words in err, (name, err)
    assert not (place / "seatwise.db").exists()  # read-only commands never create a database


def test_a_byte_that_is_not_utf8_on_the_command_line_is_refused_by_name(place: Path) -> None:
    """A shell passes bytes: one that is not UTF-8 reaches Python as half a character, which
    no database can store (it ended in an unexpected failure whose own log line could not
    be written either: a traceback). Refused as the field's error; nothing is stored."""
    db = OK.format(place)
    timeline = ["invoices", "acme", "--database-url", db]
    before = run(*timeline, cwd=place)[1]
    keys_before = run("keys", "list", "--database-url", db, cwd=place)[1]
    for arguments, words in (
        (["event", "acme", "activate", "ana\udcff"], "error: member: is not valid text"),
        (
            ["event", "acme", "activate", "bea", "--email", "b\udcff@example.com"],
            "is not an email address",
        ),
        (
            ["event", "acme", "assign", "m1", "--content", "c\udcff", "--credits", "1"],
            "error: content: is not valid text",
        ),
        (["keys", "create", "--name", "k\udcff"], "error: name: is not valid text"),
    ):
        code, out, err = run(*arguments, "--database-url", db, cwd=place)
        assert "Traceback" not in out + err, arguments
        assert code == 2, (arguments, err)
        assert words in err, (arguments, err)
    assert run(*timeline, cwd=place)[1] == before
    assert run("keys", "list", "--database-url", db, cwd=place)[1] == keys_before


@pytest.mark.parametrize(
    "argv", [["seatwise", "outbox"], ["seatwise", "outbox", "x\udcff"]], ids=["plain", "not-utf8"]
)
def test_an_unexpected_failure_is_one_line_with_an_id_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    """The last guard: an error nobody foresaw still prints one line, never a traceback; its
    log names the command line, whatever bytes it holds (one not UTF-8 is written escaped)."""
    import seatwise.cli.payments as payments_cli

    def explode(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(payments_cli, "store", explode)
    monkeypatch.setattr(sys, "argv", argv)
    log = tmp_path / "errors.log"
    result = CliRunner().invoke(main, ["outbox"], env={"SEATWISE_ERROR_LOG": str(log)})
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "error: unexpected failure (RuntimeError: boom), error id " in result.output
    error_id = result.output.split("error id ")[1][:12]
    command = " ".join(argv).encode("utf-8", "backslashreplace").decode()
    assert f"error {error_id}: {command}" in log.read_text()
    assert "Traceback" in log.read_text()


def test_a_read_only_database_is_said_in_one_sentence() -> None:
    import sqlite3

    from seatwise.store.database import describe_database_error

    said = describe_database_error(
        sqlite3.OperationalError("attempt to write a readonly database"), "sqlite:///x.db"
    )
    assert said == "the database file at sqlite:///x.db is read-only: nothing was changed"
