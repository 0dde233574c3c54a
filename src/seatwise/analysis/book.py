"""``seatwise backtest --report``: the book re-billed under a new plan as a report page
(:mod:`.page`): revenue and invoices per month, old and new, how the accounts' differences are
spread, the largest gains and losses, what could not be re-billed."""

from __future__ import annotations

from datetime import date

from seatwise.analysis import charts
from seatwise.analysis.backtest import AccountOutcome, Backtest
from seatwise.analysis.backtest_tables import window
from seatwise.analysis.page import (
    Row,
    Section,
    Table,
    chart,
    plan_yaml,
    render,
)


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
