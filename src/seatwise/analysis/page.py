"""The parts of a report page and how they render: self-contained HTML (inline CSS and SVG,
no script, nothing fetched), printable.

The same input gives the same bytes: no generation date, charts from :mod:`.charts`. Money is
formatted for the currency (``$1,050.00``, ``¥8,640``); instants are shown in UTC as dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from seatwise.core.invoicing import Invoice
from seatwise.core.money import Currency
from seatwise.core.periods import iso

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
