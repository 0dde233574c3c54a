"""A backtest as text, as a JSON document (``"format": "seatwise.backtest/1"``) and as CSV
(one row per account)."""

from __future__ import annotations

import csv
import io
from typing import Any

from seatwise.analysis.backtest import AccountOutcome, Backtest
from seatwise.core.periods import iso

FORMAT = "seatwise.backtest/1"
CSV_HEAD = [
    "account",
    "plan",
    "old_total",
    "new_total",
    "difference",
    "old_invoices",
    "new_invoices",
    "old_seat_lines",
    "new_seat_lines",
    "error",
]


def window(backtest: Backtest) -> str:
    since = iso(backtest.start)[:16] if backtest.start else "the first invoice"
    return f"from {since} to {iso(backtest.until)[:16]} (until excluded)"


def backtest_text(backtest: Backtest, shown: int = 10) -> str:
    cur = backtest.currency
    old, new, old_seats, new_seats = backtest.totals()
    more, less, same = backtest.counts()
    compared = len(backtest.compared)
    out = [
        f"backtest of {backtest.label} over {len(backtest.outcomes)} account(s), "
        f"{window(backtest)}",
        f"nothing stored or sent; {backtest.accounts_per_second:,.1f} accounts/s with "
        f"{backtest.jobs} process(es)",
        "",
        f"invoiced            {cur.display(old):>16}  as invoiced",
        f"re-billed           {cur.display(new):>16}  under {backtest.label}",
        f"difference          {cur.display(new - old):>16}{_percent(new - old, old)}",
        f"seat lines          {cur.display(old_seats):>16} → {cur.display(new_seats)}"
        f"{_percent(new_seats - old_seats, old_seats)}",
        f"accounts compared   {compared:>16}: {more} pay more, {less} pay less, {same} the same",
        "",
        f"{'month':<8} {'invoiced':>16} {'re-billed':>16} {'difference':>16} "
        f"{'invoices':>9} {'re-billed':>9}",
    ]
    for month, old_amount, new_amount, old_count, new_count in backtest.by_month():
        out.append(
            f"{month:<8} {cur.display(old_amount):>16} {cur.display(new_amount):>16} "
            f"{cur.display(new_amount - old_amount):>16} {old_count:>9} {new_count:>9}"
        )
    gains, losses = backtest.largest(shown)
    for title, rows in (("largest gains (pay more)", gains), ("largest losses (pay less)", losses)):
        if rows:
            out += ["", title]
            out += [_account_line(backtest, row) for row in rows]
    failed = backtest.failed
    if failed:
        out += ["", f"{len(failed)} account(s) could not be re-billed (left out of the figures):"]
        out += [f"  {row.account_id}: {row.error}" for row in failed[:shown]]
        if len(failed) > shown:
            out.append(f"  … and {len(failed) - shown} more (see --csv)")
    return "\n".join(out)


def _percent(change: int, base: int) -> str:
    if base == 0:
        return ""
    return f"  ({change * 100 / base:+.2f}%)"


def _account_line(backtest: Backtest, row: AccountOutcome) -> str:
    cur = backtest.currency
    return (
        f"  {row.account_id:<24} {cur.display(row.old.total):>14} → "
        f"{cur.display(row.new.total):>14}  {cur.display(row.difference):>14}"
    )


def backtest_json(backtest: Backtest) -> dict[str, Any]:
    cur = backtest.currency
    old, new, old_seats, new_seats = backtest.totals()
    more, less, same = backtest.counts()
    return {
        "format": FORMAT,
        "plan": {"label": backtest.label, "definition": backtest.definition},
        "currency": cur.code,
        "from": iso(backtest.start) if backtest.start else None,
        "until": iso(backtest.until),
        "accounts": len(backtest.outcomes),
        "accounts_per_second": round(backtest.accounts_per_second, 1),
        "jobs": backtest.jobs,
        "totals": {
            "invoiced": cur.format(old),
            "rebilled": cur.format(new),
            "difference": cur.format(new - old),
            "seat_lines_invoiced": cur.format(old_seats),
            "seat_lines_rebilled": cur.format(new_seats),
        },
        "pay_more": more,
        "pay_less": less,
        "pay_the_same": same,
        "months": [
            {
                "month": month,
                "invoiced": cur.format(old_amount),
                "rebilled": cur.format(new_amount),
                "difference": cur.format(new_amount - old_amount),
                "invoices": old_count,
                "rebilled_invoices": new_count,
            }
            for month, old_amount, new_amount, old_count, new_count in backtest.by_month()
        ],
        "per_account": [csv_row(backtest, row) for row in backtest.outcomes],
    }


def csv_row(backtest: Backtest, row: AccountOutcome) -> dict[str, Any]:
    cur = backtest.currency
    failed = row.error is not None
    return {
        "account": row.account_id,
        "plan": row.plan_id,
        "old_total": cur.format(row.old.total),
        "new_total": None if failed else cur.format(row.new.total),
        "difference": None if failed else cur.format(row.difference),
        "old_invoices": row.old.invoices,
        "new_invoices": None if failed else row.new.invoices,
        "old_seat_lines": cur.format(row.old.seat_lines),
        "new_seat_lines": None if failed else cur.format(row.new.seat_lines),
        "error": row.error,
    }


def backtest_csv(backtest: Backtest) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_HEAD, lineterminator="\n")
    writer.writeheader()
    for row in backtest.outcomes:
        writer.writerow({k: "" if v is None else v for k, v in csv_row(backtest, row).items()})
    return buffer.getvalue()
