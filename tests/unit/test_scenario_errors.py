"""An invalid scenario is refused with the file, the line and the problem."""

from __future__ import annotations

import textwrap

import pytest

from seatwise.scenario import parse_scenario
from seatwise.yaml_source import SourceError

BASE = """\
plan:
  preset: seats-annual
  currency: EUR
  price: "108.00"
account:
  subscribed_at: 2021-02-15T00:00:00Z
members:
  - {count: 3}
  - {id: ana, state: invited}
events:
  - {at: 2021-03-01T00:00:00Z, activate: [ana]}
until: 2022-01-01T00:00:00Z
"""


def refuse(text: str) -> SourceError:
    with pytest.raises(SourceError) as caught:
        parse_scenario(textwrap.dedent(text), "case.yaml")
    return caught.value


def with_event(event: str) -> str:
    return BASE.replace("until:", f"  - {event}\nuntil:")


def with_credit_events(*events: str) -> str:
    """The base scenario on a plan with credits, with ``events`` appended (first: line 13)."""
    text = BASE.replace(
        '  price: "108.00"\n', '  price: "108.00"\n  credits: {unit_price: "10.00"}\n'
    )
    return text.replace("until:", "".join(f"  - {event}\n" for event in events) + "until:")


def test_the_base_scenario_is_valid() -> None:
    scenario = parse_scenario(BASE, "case.yaml")
    assert len(scenario.events) == 5


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (BASE + "colour: red\n", 13, "colour: unknown field"),
        (BASE.replace("  price:", "  speed: 3\n  price:"), 4, "plan.speed: unknown field"),
        (BASE.replace('"108.00"', '"10,8"'), 4, "plan.price: '10,8' is not a decimal amount"),
        (BASE.replace('"108.00"', '"108.001"'), 4, "more decimals than EUR"),
        (BASE.replace("seats-annual", "seats-weekly"), 2, "unknown preset 'seats-weekly'"),
        (with_event("{at: 2021-03-02T00:00:00Z, deactivate: [zed]}"), 12, "unknown member 'zed'"),
        (
            with_event("{at: 2021-03-02T00:00:00Z, reactivate: [m1]}"),
            12,
            "member 'm1' at 2021-03-02T00:00:00Z: cannot reactivate a member who is active",
        ),
        (
            with_event("{at: 2021-02-20T00:00:00Z, delete: [m1]}"),
            12,
            "time goes backwards: the previous event is at 2021-03-01T00:00:00Z",
        ),
        (with_event("{at: 2023-01-01T00:00:00Z, delete: [m1]}"), 12, "after `until`"),
        (
            with_event("{at: 2021-03-02T00:00:00Z, delete: [m1], deactivate: [m2]}"),
            12,
            "exactly one action",
        ),
        (with_event("{at: 2021-03-02T00:00:00, delete: [m1]}"), 12, "has no time zone"),
        (with_event("{at: next tuesday, delete: [m1]}"), 12, "not an ISO 8601 instant"),
        (with_event("{at: 2021-03-02T00:00:00Z, invite: [ana]}"), 12, "already exists"),
        (
            with_event("{at: 2021-03-02T00:00:00Z, buy_credits: 100}"),
            12,
            "`buy_credits` needs a plan with credits",
        ),
        (
            with_credit_events("{at: 2021-03-02T00:00:00Z, buy_credits: 0}"),
            13,
            "0 is below the minimum of 1",
        ),
        (
            with_credit_events(
                "{at: 2021-03-02T00:00:00Z, buy_credits: 5}",
                "{at: 2021-03-02T00:00:00Z, buy_credits: 5}",
            ),
            14,
            "credits were already bought at this instant",
        ),
        (
            with_credit_events(
                "{at: 2021-03-02T00:00:00Z, assign: {member: zz, content: x, credits: 1}}"
            ),
            13,
            "unknown member 'zz'",
        ),
        (
            with_credit_events(
                "{at: 2021-03-02T00:00:00Z, deactivate: [m1]}",
                "{at: 2021-03-03T00:00:00Z, assign: {member: m1, content: x, credits: 1}}",
            ),
            14,
            "member 'm1' has left (deactivated)",
        ),
        (
            with_credit_events("{at: 2021-03-02T00:00:00Z, assign: {member: m1, content: x}}"),
            13,
            "missing field 'credits'",
        ),
        (
            with_credit_events("{at: 2021-03-02T00:00:00Z, start: {member: m1, content: x}}"),
            13,
            "'x' is not assigned to this member",
        ),
        (
            with_credit_events(
                "{at: 2021-03-02T00:00:00Z, assign: {member: m1, content: x, credits: 1}}",
                "{at: 2021-03-03T00:00:00Z, assign: {member: m1, content: x, credits: 2}}",
            ),
            14,
            "'x' is already assigned",
        ),
        (
            with_credit_events(
                "{at: 2021-03-02T00:00:00Z, assign: {member: m1, content: x, credits: 1}}",
                "{at: 2021-03-03T00:00:00Z, start: {member: m1, content: x}}",
                "{at: 2021-03-04T00:00:00Z, unassign: {member: m1, content: x}}",
            ),
            15,
            "'x' was already started",
        ),
        (
            with_credit_events(
                "{at: 2021-03-02T00:00:00Z, assign: {member: m1, content: x, credits: 1}}",
                "{at: 2021-03-03T00:00:00Z, delete: [m1]}",
                "{at: 2021-03-04T00:00:00Z, start: {member: m1, content: x}}",
            ),
            15,
            "member 'm1' has left (deleted)",
        ),
        (
            BASE.replace("until: 2022", "webhooks: [ftp://hooks.example]\nuntil: 2022"),
            12,
            "'ftp://hooks.example' is not an http(s) URL",
        ),
        (
            with_event("{at: 2021-03-02T00:00:00Z, payment_method: cheque}"),
            12,
            "not succeeds, declines",
        ),
        (BASE.replace("  - {count: 3}", "  - {count: 3, id: x}"), 8, "either `id` or `count`"),
        (BASE.replace("  - {count: 3}", "  - {count: three}"), 8, "not a whole number"),
        (
            BASE.replace("account:\n", "account:\n  timezone: Mars/Olympus\n"),
            6,
            "not an IANA time zone",
        ),
        (
            BASE.replace("account:\n", "account:\n  timezone: localtime\n"),
            6,
            "'localtime' is not an IANA time zone",
        ),
        (BASE.replace("until: 2022", "until: 2020"), 12, "before the subscription"),
        (BASE.replace("plan:\n", "plan:\n  currency: USD\n"), 4, "duplicate field 'currency'"),
        ("plan: [unclosed\n", 2, "not valid YAML"),
        ("", 1, "the file is empty"),
        (BASE.replace("until: 2022-01-01T00:00:00Z\n", ""), 1, "missing field 'until'"),
        # bounds: what is accepted can be stored and billed
        (BASE.replace("{count: 3}", "{count: 1000000000000000000000000000000}"), 8, "too large"),
        (BASE.replace("{count: 3}", "{count: 1000001}"), 8, "above the maximum of 1,000,000"),
        (BASE.replace("{count: 3}", "{count: 0x1F}"), 8, "not a whole number written in decimal"),
        (
            BASE.replace("account:\n", "account:\n  committed_seats: 99999999\n"),
            6,
            "above the maximum of 1,000,000",
        ),
        (BASE.replace('"108.00"', '"1000000000000.00"'), 4, "plan.price: 100,000,000,000,000"),
        (BASE.replace("until: 2022", "until: 9999"), 12, "outside the supported years"),
        (with_event("{at: 2021-03-02T00:00:00Z, activate: ['" + "x" * 201 + "']}"), 12, "longer"),
        (with_event('{at: 2021-03-02T00:00:00Z, activate: ["a\\tb"]}'), 12, "control characters"),
        (with_event('{at: 2021-03-02T00:00:00Z, activate: ["a\\udcffb"]}'), 12, "not valid text"),
        (
            BASE.replace("account:\n", "account:\n  contacts: [not an email]\n"),
            6,
            "'not an email' is not an email address",
        ),
        (
            BASE.replace("{id: ana, state: invited}", "{id: ana, email: ana@, state: invited}"),
            9,
            "is not an email address",
        ),
        (
            with_credit_events("{at: 2021-03-02T00:00:00Z, buy_credits: 2000000}"),
            13,
            "above the maximum of 1,000,000",
        ),
        (
            with_credit_events(
                "{at: 2021-03-02T00:00:00Z, buy_credits: {credits: 5, collection: cheque}}"
            ),
            13,
            "'cheque' is not charge_automatically or send_invoice",
        ),
        (with_event("{at: 2021-03-02T00:00:00Z, pay: 42}"), 12, "'42' is not an invoice number"),
        (
            with_event('{at: 2021-03-02T00:00:00Z, pay: {invoice: INV-000001, amount: "1.001"}}'),
            12,
            "more decimals than EUR",
        ),
    ],
)
def test_refused_with_file_line_and_reason(text: str, line: int, reason: str) -> None:
    error = refuse(text)
    assert error.file == "case.yaml"
    assert error.line == line, str(error)
    assert reason in str(error)
    assert str(error).startswith(f"case.yaml:{line}: ")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("{at: 2021-03-02T00:00:00Z, pay: INV-000002}", "INV-000002 was not issued by then"),
        ("{at: 2021-03-02T00:00:00Z, pay: INV-000001}", "INV-000001 is paid already"),
    ],
)
def test_a_payment_that_cannot_be_is_refused_at_its_line(event: str, reason: str) -> None:
    """Checked when the scenario runs, by the engine and by the pure core alike."""
    from seatwise.engine.simulation import simulate
    from seatwise.scenario_result import run_scenario

    scenario = parse_scenario(with_event(event), "case.yaml")
    for run in (simulate, run_scenario):
        with pytest.raises(SourceError) as caught:
            run(scenario)
        assert str(caught.value) == f"case.yaml:12: pay: {reason}"


def test_a_payment_of_another_amount_than_due_is_refused() -> None:
    from seatwise.engine.simulation import simulate
    from seatwise.scenario_result import run_scenario

    text = with_event('{at: 2021-03-02T00:00:00Z, pay: {invoice: INV-000001, amount: "1.00"}}')
    text = text.replace("seats-annual", "licences-annual")
    scenario = parse_scenario(text, "case.yaml")
    for run in (simulate, run_scenario):
        with pytest.raises(SourceError) as caught:
            run(scenario)
        assert "INV-000001 owes €324.00, not €1.00 (a payment is of the whole amount due)" in str(
            caught.value
        )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("0001-01-01T00:00:00+00:01", "0001-01-01T00:00:00+00:01"),  # before year 1 in UTC
        ("9999-12-31T23:59:00-01:00", "9999-12-31T23:59:00-01:00"),  # after year 9999 in UTC
        ("1800-06-01T00:00:00+02:00", "1800-05-31T22:00:00Z"),
    ],
)
def test_an_instant_outside_the_supported_years_is_refused_even_at_the_calendar_s_ends(
    text: str, shown: str
) -> None:
    """Found by schemathesis: the first of these was a 500 (Python cannot convert it)."""
    import re
    from datetime import datetime

    from seatwise.core.errors import SeatwiseError
    from seatwise.core.limits import check_instant

    with pytest.raises(SeatwiseError, match=re.escape(f"at: {shown} is outside the supported")):
        check_instant(datetime.fromisoformat(text), "at")
