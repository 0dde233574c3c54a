"""Readable text tables of a simulation, for terminals and ``seatwise demo``."""

from __future__ import annotations

import textwrap
from typing import Any


def _day(instant: str) -> str:
    return instant[:10] if instant.endswith("T00:00:00Z") else instant.replace("T", " ")[:16]


def invoice_table(doc: dict[str, Any], explanations: list[list[str]] | None = None) -> str:
    """The invoices of a scenario document as a table, one block per invoice; with
    ``explanations`` (one list of texts per invoice, one text per line), each line's
    explanation is printed under it."""
    out: list[str] = [f"{doc['name']}  ({doc['currency']})", ""]
    width = 62
    for index, invoice in enumerate(doc["invoices"]):
        out.append(
            f"{invoice['number']}  {invoice['kind']:<9} {invoice['status']:<6} "
            f"issued {_day(invoice['issued_at'])}  due {_day(invoice['due_at'])}  "
            f"period {_day(invoice['period_start'])} → {_day(invoice['period_end'])}"
        )
        for line in invoice["lines"]:
            description = line["description"]
            if len(description) > width:
                description = description[: width - 1] + "…"
            out.append(f"    {line['kind']:<17} {description:<{width}} {line['amount']:>12}")
            if explanations is not None:
                why = explanations[index][invoice["lines"].index(line)]
                out.extend(f"        {part}" for part in textwrap.wrap(why, width + 10))
        out.append(f"    {'':<17} {'total':>{width}} {invoice['total']:>12}")
        out.append("")
    if not doc["invoices"]:
        out.append("(no invoices)")
        out.append("")
    account = doc["account"]
    out.append(
        f"account at the end: {account['status']}, {account['billed_seats']} billed seat(s), "
        f"credit balance {account['credit_balance']} {doc['currency']}"
    )
    return "\n".join(out)
