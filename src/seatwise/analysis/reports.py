"""Self-contained HTML reports: inline CSS and SVG, no script, nothing fetched, printable.

The same input gives the same bytes: no generation date, charts from :mod:`.charts`. Money is
formatted for the currency (``$1,050.00``, ``¥8,640``); instants are shown in UTC as dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import accumulate
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from seatwise.analysis import charts
from seatwise.analysis.backtest import AccountOutcome, Backtest
from seatwise.analysis.backtest_tables import window
from seatwise.analysis.compare import Comparison
from seatwise.analysis.series import billed_steps, days_text, occupancy_steps, seat_days
from seatwise.core.invoicing import Invoice
from seatwise.core.money import Currency
from seatwise.core.periods import iso
from seatwise.core.seat_timeline import MemberChange
from seatwise.scenario import SimulationResult

FOOTER = (
    "Made by Seatwise from the plans and the timeline above: the same inputs give the same "
    "report. Nothing was stored or sent."
)


@dataclass(frozen=True)
class Chart:
    svg: Markup
    caption: str


@dataclass(frozen=True)
class Row:
    cells: list[str]
    total: bool = False


@dataclass(frozen=True)
class Table:
    head: list[str]
    rows: list[Row]
    numeric: set[int] = field(default_factory=set)
    caption: str = ""
    why: int | None = None  # the column of explanations, if any


@dataclass(frozen=True)
class Section:
    heading: str
    note: str = ""
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    inputs: list[tuple[str, str]] = field(default_factory=list)


def render(title: str, lead: str, facts: list[tuple[str, str]], sections: list[Section]) -> str:
    environment = Environment(
        loader=PackageLoader("seatwise.analysis", "templates"),
        autoescape=select_autoescape(["html"]),
        keep_trailing_newline=True,
    )
    template = environment.get_template("report.html")
    return template.render(title=title, lead=lead, facts=facts, sections=sections, footer=FOOTER)


def chart(svg: str, caption: str) -> Chart:
    return Chart(Markup(svg), caption)  # our own SVG, from matplotlib: no user markup


def day(instant: datetime) -> str:
    return iso(instant)[:10]


def plan_yaml(definition: dict[str, Any]) -> str:
    return yaml.safe_dump(definition, sort_keys=False, allow_unicode=True).strip()


def invoice_tables(
    cur: Currency,
    entries: list[tuple[str, str, Invoice]],
    explain: bool,
) -> list[Table]:
    """One table per invoice (number, status, invoice), its lines and, if ``explain``, why."""
    tables = []
    for number, status, invoice in entries:
        head = ["Line", "Description", "Quantity", "Period", "Amount"]
        if explain:
            head.append("Why")
        rows = []
        for line in invoice.lines:
            cells = [
                line.kind,
                line.description,
                str(line.quantity),
                f"{day(line.period.start)} → {day(line.period.end)}",
                cur.display(line.amount),
            ]
            if explain:
                cells.append(line.explanation.summary)
            rows.append(Row(cells))
        total = ["", "Total", "", "", cur.display(invoice.total)] + ([""] if explain else [])
        rows.append(Row(total, total=True))
        caption = (
            f"{number} · {invoice.kind} · issued {day(invoice.issued_at)} · due "
            f"{day(invoice.due_at)} · {status}"
        )
        tables.append(Table(head, rows, {2, 4}, caption, 5 if explain else None))
    return tables


# -- seatwise compare --report ------------------------------------------------------------------


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


# -- seatwise simulate --report -----------------------------------------------------------------


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


# -- seatwise backtest --report -----------------------------------------------------------------


def backtest_report(backtest: Backtest) -> str:
    """The book re-billed under a new plan: revenue and invoices per month, old against new,
    how the accounts' differences are spread, the largest gains and losses, what failed."""
    cur = backtest.currency
    old, new, old_seats, new_seats = backtest.totals()
    more, less, same = backtest.counts()
    rows = backtest.by_month()
    months = [date(int(m[:4]), int(m[5:7]), 1) for m, *_ in rows]
    revenue_svg = charts.monthly_bars(
        "Revenue per month",
        cur,
        months,
        [("as invoiced", [r[1] for r in rows]), (f"under {backtest.label}", [r[2] for r in rows])],
    )
    counts_svg = charts.count_bars(
        "Invoices per month",
        months,
        [("as invoiced", [r[3] for r in rows]), (f"under {backtest.label}", [r[4] for r in rows])],
    )
    spread_svg = charts.histogram(
        "How much each account would pay more (+) or less (−)",
        cur,
        [o.difference for o in backtest.compared],
        "Difference per account over the period",
    )
    gains, losses = backtest.largest(10)

    def account_table(caption: str, chosen: list[AccountOutcome]) -> Table:
        return Table(
            ["Account", "Plan", "Invoiced", "Re-billed", "Difference"],
            [
                Row(
                    [
                        o.account_id,
                        o.plan_id,
                        cur.display(o.old.total),
                        cur.display(o.new.total),
                        cur.display(o.difference),
                    ]
                )
                for o in chosen
            ],
            {2, 3, 4},
            caption,
        )

    summary = Table(
        ["", "As invoiced", f"Under {backtest.label}", "Difference"],
        [
            Row(["Invoiced", cur.display(old), cur.display(new), cur.display(new - old)]),
            Row(
                [
                    "Seat lines",
                    cur.display(old_seats),
                    cur.display(new_seats),
                    cur.display(new_seats - old_seats),
                ]
            ),
            Row(
                [
                    "Invoices",
                    str(sum(r[3] for r in rows)),
                    str(sum(r[4] for r in rows)),
                    str(sum(r[4] - r[3] for r in rows)),
                ]
            ),
        ],
        {1, 2, 3},
    )
    month_table = Table(
        ["Month", "Invoiced", "Re-billed", "Difference", "Invoices", "Re-billed invoices"],
        [
            Row([m, cur.display(a), cur.display(b), cur.display(b - a), str(c), str(d)])
            for m, a, b, c, d in rows
        ],
        {1, 2, 3, 4, 5},
        "Per month of issue (UTC)",
    )
    sections = [
        Section(
            "Summary",
            f"{len(backtest.compared)} account(s) compared: {more} would pay more, {less} less, "
            f"{same} the same. Seat lines are the lines that charge or credit seats.",
            tables=[summary],
        ),
        Section(
            "Per month",
            charts=[
                chart(revenue_svg, "Invoiced per month as it was, and re-billed under the plan."),
                chart(counts_svg, "How many invoices per month, as it was and re-billed."),
            ],
            tables=[month_table],
        ),
        Section(
            "Per account",
            charts=[chart(spread_svg, "Accounts by their difference over the period.")],
            tables=[
                account_table("Largest gains (pay more)", gains),
                account_table("Largest losses (pay less)", losses),
            ],
        ),
    ]
    if backtest.failed:
        sections.append(
            Section(
                "Accounts that could not be re-billed",
                "Left out of every figure above.",
                tables=[
                    Table(
                        ["Account", "Why"],
                        [Row([o.account_id, o.error or ""]) for o in backtest.failed],
                    )
                ],
            )
        )
    sections.append(Section("Inputs", inputs=[(backtest.label, plan_yaml(backtest.definition))]))
    facts = [
        ("Period", window(backtest)),
        ("Accounts", f"{len(backtest.outcomes)} ({len(backtest.failed)} could not be re-billed)"),
        ("Currency", cur.code),
    ]
    title = f"Backtest of {backtest.label}"
    lead = "Every stored account's real timeline re-billed under the plan, beside its invoices."
    return render(title, lead, facts, sections)
