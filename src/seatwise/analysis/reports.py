"""``seatwise compare --report``: the comparison of plans on one history as a report page
(:mod:`.page`): a summary, seats held vs billed, money invoiced and collected, each plan's
invoices, and the plans as given."""

from __future__ import annotations

from datetime import datetime
from itertools import accumulate

from seatwise.analysis import charts
from seatwise.analysis.compare import Comparison
from seatwise.analysis.page import (
    Row,
    Section,
    Table,
    chart,
    day,
    invoice_tables,
    plan_yaml,
    render,
)
from seatwise.analysis.series import days_text


def comparison_report(comparison: Comparison) -> str:
    cur, outcomes = comparison.currency, comparison.outcomes
    labels = [o.policy.label for o in outcomes]
    first = outcomes[0]
    summary = Table(
        ["", *labels],
        [
            Row(["Invoices", *(str(len(o.invoices)) for o in outcomes)]),
            Row(["Total invoiced", *(cur.display(o.total) for o in outcomes)]),
            Row(
                ["Difference to the first", *(cur.display(o.total - first.total) for o in outcomes)]
            ),
            Row(["Occupied seat-days", *(days_text(o.seat_days.occupied) for o in outcomes)]),
            Row(["Billed seat-days", *(days_text(o.seat_days.billed) for o in outcomes)]),
            Row(["Paid for, not used", *(days_text(o.seat_days.paid_not_used) for o in outcomes)]),
            Row(["Used, not paid for", *(days_text(o.seat_days.used_not_paid) for o in outcomes)]),
        ],
        set(range(1, len(labels) + 1)),
    )
    seats_svg, cumulative_svg, bars_svg = comparison_charts(comparison)
    per_month = [comparison.invoiced_by_month(o) for o in outcomes]
    month_rows = [
        Row([f"{month:%Y-%m}", *(cur.display(p[i]) for p in per_month)])
        for i, month in enumerate(comparison.months)
    ]
    cash = [list(accumulate(comparison.collected_by_month(o))) for o in outcomes]
    cash_rows = [
        Row([f"{month:%Y-%m}", *(cur.display(c[i]) for c in cash)])
        for i, month in enumerate(comparison.months)
    ]
    numeric = set(range(1, len(labels) + 1))
    sections = [
        Section(
            "Summary",
            "Seat-days integrate seats over the period: billed seats above occupancy are paid "
            "for and not used; occupancy above billed seats is used and not paid for (yet).",
            tables=[summary],
        ),
        Section(
            "Seats",
            charts=[
                chart(
                    seats_svg,
                    "Members holding a seat (dark line) and the seats each plan bills for, over "
                    "time.",
                )
            ],
        ),
        Section(
            "Money",
            "Invoiced: by issue date. Collected: when the simulated collection was paid; an "
            "invoice sent for payment counts on its due date, a failed charge never.",
            charts=[
                chart(cumulative_svg, "The amount invoiced up to each date, per plan."),
                chart(bars_svg, "The amount invoiced in each calendar month, per plan."),
            ],
            tables=[
                Table(["Month", *labels], month_rows, numeric, "Invoiced per month"),
                Table(["Month", *labels], cash_rows, numeric, "Collected by the end of the month"),
            ],
        ),
    ]
    for outcome in outcomes:
        terms = Table(
            ["Term", "Invoiced"],
            [Row([f"{day(t.start)} → {day(t.end)}", cur.display(a)]) for t, a in outcome.terms],
            {1},
            "Invoiced per term",
        )
        entries = [(e.number, e.status, e.invoice) for e in outcome.invoices]
        sections.append(
            Section(
                f"Invoices under {outcome.policy.label}",
                tables=[terms, *invoice_tables(cur, entries, explain=False)],
            )
        )
    sections.append(
        Section(
            "Inputs",
            inputs=[(o.policy.label, plan_yaml(o.policy.definition)) for o in outcomes],
        )
    )
    facts = [
        ("Period", f"{day(comparison.start)} → {day(comparison.until)} (until excluded)"),
        ("Time zone", comparison.tz.key),
        ("Currency", cur.code),
        ("Plans", ", ".join(labels)),
    ]
    title = f"{comparison.name}: {len(outcomes)} plans compared"
    lead = "The same member history billed under each plan; differences are to the first."
    return render(title, lead, facts, sections)


def comparison_charts(comparison: Comparison) -> tuple[str, str, str]:
    """The comparison's charts as SVG: seats held vs billed, invoiced to date, per month."""
    cur, outcomes = comparison.currency, comparison.outcomes
    labels = [o.policy.label for o in outcomes]
    occupancies: dict[tuple[tuple[datetime, int], ...], str] = {}
    for outcome in outcomes:  # one occupancy line per distinct way of counting
        occupancies.setdefault(outcome.occupancy, f"occupancy ({outcome.policy.label})")
    occupancy_series = [(label, list(steps)) for steps, label in occupancies.items()]
    if len(occupancy_series) == 1:
        occupancy_series = [("occupancy", occupancy_series[0][1])]
    seats_svg = charts.seats_chart(
        "Seats held vs seats billed",
        occupancy_series,
        [(f"billed: {o.policy.label}", list(o.billed)) for o in outcomes],
        comparison.until,
    )
    cumulative_svg = charts.cumulative_chart(
        "Invoiced to date",
        cur,
        [
            (o.policy.label, [(e.invoice.issued_at, e.invoice.total) for e in o.invoices])
            for o in outcomes
        ],
        comparison.start,
        comparison.until,
    )
    per_month = [comparison.invoiced_by_month(o) for o in outcomes]
    bars_svg = charts.monthly_bars(
        "Invoiced per month", cur, comparison.months, list(zip(labels, per_month, strict=True))
    )
    return seats_svg, cumulative_svg, bars_svg
