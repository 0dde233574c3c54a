"""``seatwise simulate --report``: one account's story as a report page (:mod:`.page`):
seats held, billed and committed over time with its member events, its invoices on the time
axis, and every invoice with the reason for each line."""

from __future__ import annotations

from datetime import datetime

from seatwise.analysis import charts
from seatwise.analysis.page import (
    Section,
    chart,
    day,
    invoice_tables,
    plan_yaml,
    render,
)
from seatwise.analysis.series import billed_steps, days_text, occupancy_steps, seat_days
from seatwise.core.seat_timeline import MemberChange
from seatwise.scenario_result import SimulationResult


def simulation_report(result: SimulationResult) -> str:
    """One account's story: seats over time with its member events, each invoice on the time
    axis, and the invoices with the reason for every line."""
    scenario, billing = result.scenario, result.billing
    plan, account, cur = scenario.plan, scenario.account, scenario.plan.currency
    start, until = account.service_start, scenario.until
    changes = [e for e in scenario.events if isinstance(e, MemberChange)]
    occupancy = occupancy_steps(changes, plan.count_invited, start, until)
    billed = billed_steps(plan, billing.invoices, billing.state, start, until)
    committed = committed_steps(result)
    seats_svg = charts.seats_chart(
        "Seats held, billed and committed",
        [("occupancy", occupancy)],
        [("billed seats", billed)],
        until,
        committed=("committed seats", committed) if any(v for _, v in committed) else None,
        marks=sorted({change.at for change in changes if start <= change.at <= until}),
    )
    issued = list(zip(result.numbers, result.statuses, billing.invoices, strict=True))
    invoices_svg = charts.invoices_chart(
        "Invoices",
        cur,
        [(invoice.issued_at, invoice.total, number) for number, _, invoice in issued],
        start,
        until,
    )
    days = seat_days(occupancy, billed, start, until)
    total = sum(invoice.total for invoice in billing.invoices)
    state = billing.state
    facts = [
        ("Period", f"{day(start)} → {day(until)}"),
        ("Time zone", account.timezone.key),
        ("Invoiced", f"{cur.display(total)} in {len(billing.invoices)} invoice(s)"),
        (
            "At the end",
            f"{state.status}, {state.billed_seats} billed seat(s), {state.committed_seats} "
            "committed",
        ),
        (
            "Seat-days",
            f"{days_text(days.occupied)} occupied, {days_text(days.billed)} billed, "
            f"{days_text(days.paid_not_used)} paid for and not used, "
            f"{days_text(days.used_not_paid)} used and not paid for",
        ),
    ]
    sections = [
        Section(
            "Seats over time",
            charts=[
                chart(
                    seats_svg,
                    "Members holding a seat, the seats the invoices charge for, the committed "
                    "seats, and a tick at each member event.",
                )
            ],
        ),
        Section(
            "Invoices over time",
            charts=[chart(invoices_svg, "Each invoice at its issue date, with its total.")],
        ),
        Section(
            "Invoices, line by line",
            "Under each line, why it is there.",
            tables=invoice_tables(cur, [(n, s, i) for n, s, i in issued], explain=True),
        ),
        Section("Inputs", inputs=[("Plan", plan_yaml(scenario.plan_data))]),
    ]
    title = f"{scenario.name}: billing story"
    lead = f"The scenario {scenario.file} billed by the engine from the subscription to until."
    return render(title, lead, facts, sections)


def committed_steps(result: SimulationResult) -> list[tuple[datetime, int]]:
    """Committed seats over time: the account's (not below the plan's minimum); a plan that
    renews at the term's maximum makes each renewal's seats the new commitment."""
    scenario = result.scenario
    plan, account = scenario.plan, scenario.account
    level = max(account.committed_seats, plan.minimum_seats)
    steps = [(account.service_start, level)]
    if plan.renewal_seats == "peak":
        for invoice in result.billing.invoices:
            if invoice.kind != "renewal":
                continue
            seats = next((line.quantity for line in invoice.lines if line.kind == "seats"), level)
            if seats != steps[-1][1]:
                steps.append((invoice.issued_at, seats))
    return steps
