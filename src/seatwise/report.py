"""What a person reads: invoice tables, explained invoices, projected invoices."""

from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any

from seatwise.core.invoicing import Line
from seatwise.core.money import Currency
from seatwise.core.periods import iso
from seatwise.engine.credits import WalletView
from seatwise.engine.queries import InvoiceDetails, ProjectedInvoice
from seatwise.scenario_result import invoice_json


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
    wallet = account["credits"]
    alerts = [n for n in doc["notifications"] if n["kind"] == "credit_alert"]
    if wallet["balance"] or wallet["assigned"] or alerts:
        out.append(f"credits: balance {wallet['balance']}, assigned {wallet['assigned']}")
    told: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for note in doc["notifications"]:  # one line per fact, whoever was told of it
        if note["kind"] != "invoice_issued":
            told.setdefault((note["at"], note["kind"], note["invoice"]), note)
    if told:
        out.append("payments and notices:")
    for note in told.values():
        out.append(f"  {_day(note['at'])}  {_notice(note)}")
    return "\n".join(out)


def _notice(note: dict[str, Any]) -> str:
    kind, invoice = note["kind"], note["invoice"]
    if kind == "payment_failed":
        return f"charge {note['attempt']} of {invoice} failed: {note['reason']}"
    if kind == "invoice_paid":
        return f"{invoice} paid"
    if kind == "reminder":
        return f"reminder: {invoice} is due in {note['days_before']} day(s)"
    if kind == "credit_alert":
        return f"alert: {note['assigned']} credits assigned, balance {note['balance']}"
    if kind == "account_purged":
        return "personal data purged"
    return f"account {kind.removeprefix('account_')} ({invoice} unpaid)"


def _when(instant: datetime) -> str:
    return _day(iso(instant))


def _wrapped(text: str, indent: str) -> list[str]:
    return [f"{indent}{part}" for part in textwrap.wrap(text, 88)]


def line_block(cur: Currency, line: Line, indent: str = "    ") -> list[str]:
    """One invoice line with its explanation: the why, the members, the events."""
    price = "" if line.unit_price is None else f" at {cur.display(line.unit_price)}"
    out = [
        f"{indent}{line.kind}: {line.description}",
        f"{indent}  {line.quantity}{price} for {_when(line.period.start)} → "
        f"{_when(line.period.end)}: {cur.display(line.amount)}",
    ]
    out.extend(_wrapped(line.explanation.summary, indent + "  "))
    if line.explanation.members:
        members = ", ".join(line.explanation.members)
        out.extend(_wrapped(f"Members ({len(line.explanation.members)}): {members}", indent + "  "))
    for change in line.explanation.changes:
        out.append(f"{indent}  event: {_when(change.at)} {change.member} {change.action}d")
    return out


def explanation_text(details: InvoiceDetails) -> str:
    """``seatwise explain``: an invoice as its customer's admin would want it explained."""
    cur, stored = details.currency, details.stored
    invoice = stored.invoice
    out = [
        f"{stored.number}  {invoice.kind} invoice for account {stored.account_id}, {stored.status}",
        f"issued {_when(invoice.issued_at)}, due {_when(invoice.due_at)}, "
        f"period {_when(invoice.period.start)} → {_when(invoice.period.end)}",
        "",
    ]
    for line in invoice.lines:
        out.extend(line_block(cur, line))
        out.append("")
    out.append(f"total {cur.display(invoice.total)}, amount due {cur.display(details.amount_due)}")
    for note in details.credit_notes:
        out.append(
            f"credit note {note.number} on {_when(note.issued_at)}: "
            f"{cur.display(note.amount)} — {note.reason}"
        )
    out.append("history:")
    for change in details.history:
        before = change.from_status or "(new)"
        out.append(f"  {_when(change.at)}  {before} → {change.to_status}: {change.reason}")
    return "\n".join(out)


def projection_text(projected: ProjectedInvoice) -> str:
    """``seatwise project``: the next invoice if the cycle ended now, and who it counts."""
    cur, projection = projected.currency, projected.projection
    out = [
        f"Projected invoice for account {projected.account_id} at {_when(projection.at)}",
        projection.note,
        "",
    ]
    invoice = projection.invoice
    if invoice is None:
        return "\n".join(out)
    out.append(
        f"{invoice.kind}, period {_when(invoice.period.start)} → {_when(invoice.period.end)}"
    )
    for line in invoice.lines:
        out.extend(line_block(cur, line))
    out.append(f"total {cur.display(invoice.total)}")
    out.append(f"members counted ({len(projection.members)}): {', '.join(projection.members)}")
    return "\n".join(out)


def projection_json(projected: ProjectedInvoice) -> dict[str, Any]:
    projection = projected.projection
    invoice = projection.invoice
    coming = projection.next_invoice
    return {
        "account": projected.account_id,
        "at": iso(projection.at),
        "note": projection.note,
        "next_invoice": None
        if coming is None
        else {
            "kind": coming.kind,
            "issued_at": iso(coming.at),
            "total": projected.currency.format(coming.total),
        },
        "invoice": None
        if invoice is None
        else invoice_json(projected.currency, None, "projected", invoice),
        "members": list(projection.members),
    }


def invoice_summary_json(details: InvoiceDetails) -> dict[str, Any]:
    """An invoice with its currency, amount due and credit notes (``seatwise invoices``)."""
    stored, cur = details.stored, details.currency
    data = invoice_json(cur, stored.number, stored.status, stored.invoice)
    data["account"] = stored.account_id
    data["currency"] = cur.code
    data["amount_due"] = cur.format(details.amount_due)
    data["credit_notes"] = [
        {
            "number": note.number,
            "amount": cur.format(note.amount),
            "reason": note.reason,
            "issued_at": iso(note.issued_at),
        }
        for note in details.credit_notes
    ]
    return data


def invoices_text(account_id: str, listed: list[InvoiceDetails]) -> str:
    """``seatwise invoices``: one row per invoice; credit notes under theirs."""
    if not listed:
        return f"{account_id}: no invoices yet"
    code = listed[0].currency.code
    out = [
        f"Invoices of {account_id} ({code})",
        f"{'number':<11} {'kind':<9} {'issued':<16} {'period':<33} {'total':>13} "
        f"{'due':>13}  status",
    ]
    for details in listed:
        stored, cur = details.stored, details.currency
        invoice = stored.invoice
        period = f"{_when(invoice.period.start)} → {_when(invoice.period.end)}"
        out.append(
            f"{stored.number or '(draft)':<11} {invoice.kind:<9} {_when(invoice.issued_at):<16} "
            f"{period:<33} {cur.display(invoice.total):>13} {cur.display(details.amount_due):>13}"
            f"  {stored.status}"
        )
        for note in details.credit_notes:
            out.append(f"    credit note {note.number}: {cur.display(note.amount)} — {note.reason}")
    return "\n".join(out)


def explanation_json(details: InvoiceDetails) -> dict[str, Any]:
    """``seatwise explain --json``: the invoice summary, each line with its explanation, and
    the status history."""
    stored = details.stored
    data = invoice_summary_json(details)
    for entry, line in zip(data["lines"], stored.invoice.lines, strict=True):
        entry["explanation"] = {
            "summary": line.explanation.summary,
            "members": list(line.explanation.members),
            "events": [
                {"at": iso(c.at), "member": c.member, "action": c.action}
                for c in line.explanation.changes
            ],
        }
    data["history"] = [
        {"at": iso(c.at), "from": c.from_status, "to": c.to_status, "reason": c.reason}
        for c in details.history
    ]
    return data


def wallet_json(view: WalletView) -> dict[str, Any]:
    return {
        "account": view.account_id,
        "balance": view.balance,
        "assigned": view.assigned,
        "over_assigned": view.over_assigned,
        "reservations": [
            {"member": r.member, "content": r.content, "credits": r.credits, "at": iso(r.at)}
            for r in view.reservations
        ],
        "ledger": [
            {
                "at": iso(entry.at),
                "kind": entry.kind,
                "credits": entry.credits,
                "balance_change": entry.balance_change,
                "assigned_change": entry.assigned_change,
                "member": entry.member,
                "content": entry.content,
                "note": entry.note,
            }
            for entry in view.entries
        ],
    }


def wallet_text(view: WalletView) -> str:
    warning = "  (more assigned than the balance holds!)" if view.over_assigned else ""
    out = [f"{view.account_id}: balance {view.balance}, assigned {view.assigned}{warning}"]
    for r in view.reservations:
        out.append(f"  reserved  {r.credits:>5}  {r.content} for {r.member} since {iso(r.at)}")
    if view.entries:
        out.append("ledger:")
    for entry in view.entries:
        out.append(
            f"  {iso(entry.at)}  {entry.kind:<11} {entry.balance_change:>+6} balance "
            f"{entry.assigned_change:>+6} assigned  {entry.note}"
        )
    return "\n".join(out)
