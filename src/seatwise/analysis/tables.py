"""A comparison as data (the ``--json`` document) and as a text table.

The JSON document is an interface, versioned by ``"format"``; its fields are documented in the
README ("Comparing plans") and only ever extended compatibly. Amounts are decimal strings with
the currency's digits, instants ISO 8601 in UTC, months ``YYYY-MM`` in the account's time zone,
seat-days decimal strings with two decimals.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Any

from seatwise.analysis.compare import Comparison, Outcome
from seatwise.analysis.series import days_text
from seatwise.core.periods import iso
from seatwise.scenario_result import invoice_json

FORMAT = "seatwise.compare/1"


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    cur = comparison.currency
    first = comparison.outcomes[0]
    base_months = comparison.invoiced_by_month(first)
    plans = []
    for outcome in comparison.outcomes:
        invoiced = comparison.invoiced_by_month(outcome)
        collected = comparison.collected_by_month(outcome)
        days = outcome.seat_days
        plans.append(
            {
                "label": outcome.policy.label,
                "plan": outcome.policy.definition,
                "total": cur.format(outcome.total),
                "difference": cur.format(outcome.total - first.total),
                "invoice_count": len(outcome.invoices),
                "invoices": [
                    {
                        **invoice_json(cur, entry.number, entry.status, entry.invoice),
                        "collected_at": iso(entry.collected_at) if entry.collected_at else None,
                    }
                    for entry in outcome.invoices
                ],
                "months": [
                    {
                        "month": month.strftime("%Y-%m"),
                        "invoiced": cur.format(amount),
                        "difference": cur.format(amount - base),
                        "collected": cur.format(cash),
                        "collected_to_date": cur.format(to_date),
                    }
                    for month, amount, base, cash, to_date in zip(
                        comparison.months,
                        invoiced,
                        base_months,
                        collected,
                        accumulate(collected),
                        strict=True,
                    )
                ],
                "terms": [
                    {"start": iso(term.start), "end": iso(term.end), "invoiced": cur.format(total)}
                    for term, total in outcome.terms
                ],
                "seat_days": {
                    "occupied": days_text(days.occupied),
                    "billed": days_text(days.billed),
                    "paid_not_used": days_text(days.paid_not_used),
                    "used_not_paid": days_text(days.used_not_paid),
                },
                "occupancy": [[iso(at), value] for at, value in outcome.occupancy],
                "billed_seats": [[iso(at), value] for at, value in outcome.billed],
                "account": {
                    "status": outcome.state.status,
                    "billed_seats": outcome.state.billed_seats,
                    "committed_seats": outcome.state.committed_seats,
                },
            }
        )
    return {
        "format": FORMAT,
        "name": comparison.name,
        "currency": cur.code,
        "timezone": comparison.tz.key,
        "start": iso(comparison.start),
        "until": iso(comparison.until),
        "plans": plans,
    }


def comparison_text(comparison: Comparison, invoices: bool = True) -> str:
    """The comparison as a person reads it in a terminal: one column per plan; with
    ``invoices``, each plan's invoices after it."""
    cur = comparison.currency
    outcomes = comparison.outcomes
    first = outcomes[0]
    width = max(14, *(len(o.policy.label) for o in outcomes))
    head = 26

    def row(title: str, cells: list[str]) -> str:
        return f"{title:<{head}}" + "".join(f"  {cell:>{width}}" for cell in cells)

    out = [
        f"{comparison.name}  ({cur.code})",
        f"{_day(comparison)} under {len(outcomes)} plan(s); nothing stored, nothing sent",
        "",
        row("", [o.policy.label for o in outcomes]),
        row("invoices", [str(len(o.invoices)) for o in outcomes]),
        row("total invoiced", [cur.display(o.total) for o in outcomes]),
        row("difference to the first", [cur.display(o.total - first.total) for o in outcomes]),
        "",
        "invoiced per month (by issue date)",
    ]
    per_plan = [comparison.invoiced_by_month(o) for o in outcomes]
    cash = [list(accumulate(comparison.collected_by_month(o))) for o in outcomes]
    for index, month in enumerate(comparison.months):
        out.append(row(f"  {month:%Y-%m}", [cur.display(p[index]) for p in per_plan]))
    out += ["", "collected by the end of the month (cumulative)"]
    for index, month in enumerate(comparison.months):
        out.append(row(f"  {month:%Y-%m}", [cur.display(c[index]) for c in cash]))
    out += ["", "seat-days over the period"]
    for title, field in (
        ("  occupied", "occupied"),
        ("  billed", "billed"),
        ("  paid for, not used", "paid_not_used"),
        ("  used, not paid for", "used_not_paid"),
    ):
        out.append(row(title, [days_text(getattr(o.seat_days, field)) for o in outcomes]))
    for outcome in outcomes if invoices else ():
        out += ["", *_invoices(comparison, outcome)]
    return "\n".join(out)


def _day(comparison: Comparison) -> str:
    start, until = comparison.start, comparison.until
    return f"{iso(start)[:10]} → {iso(until)[:10]}"


def _invoices(comparison: Comparison, outcome: Outcome) -> list[str]:
    cur = comparison.currency
    out = [f"{outcome.policy.label}: invoices"]
    yearly = outcome.policy.plan.interval == "year"  # a monthly term is one invoice: no sums
    for term, total in outcome.terms if yearly else ():
        out.append(f"  term {iso(term.start)[:10]} → {iso(term.end)[:10]}: {cur.display(total)}")
    for entry in outcome.invoices:
        invoice = entry.invoice
        out.append(
            f"  {entry.number}  {invoice.kind:<9} issued {iso(invoice.issued_at)[:10]}  "
            f"{entry.status:<6} {cur.display(invoice.total):>14}"
        )
    if not outcome.invoices:
        out.append("  (no invoices)")
    return out
