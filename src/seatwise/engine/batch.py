"""What a billing transaction writes at its end, and the numbers it takes just before.

Invoice numbers are sequential per vendor, without gaps (SPEC 5): the sequence's row is
updated in the transaction that issues, so a rollback gives its numbers back — and it stays
locked until that transaction ends. A billing run therefore does not number an invoice when
it issues it: it gives it a **provisional number** (``"\\x1e1\\x1e"``, ``"\\x1e2\\x1e"``… in
issue order; a control character no text the store accepts can hold), used for everything
the run does with it — its messages, reminders, payment attempts and adjustments — and takes
the real numbers for all of a batch's invoices with one ``UPDATE … RETURNING`` just before
the bulk write that ends the transaction, replacing every provisional one. The sequence is
held for that write and the commit, not for the billing, so workers billing other accounts
at the same time each wait milliseconds, not for one another's whole batch. The invoices get
the numbers they got when numbered one by one (issue order, accounts in their batch's order).

A charge is made during the run, before its invoice has its number: the gateway is told the
number of an invoice numbered earlier, and ``""`` for one this run issued; the charge's
``invoice_key`` (account, kind, period) names either, whatever number it then takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from seatwise.core.checkpoint import Checkpoint
from seatwise.core.dunning import Attempt, MethodChange
from seatwise.core.invoice_states import OPEN
from seatwise.store import outbox_repository as outbox_store
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.driver import keys_checked_by_index
from seatwise.store.outbox_repository import Message
from seatwise.store.repository import (
    INVOICE_PREFIX,
    AccountAfterBilling,
    NewInvoice,
    StoredAccount,
    StoredInvoice,
)

RECEIPT_PREFIX = "RCT-"
MARK = "\x1e"  # around a provisional number: a control character, refused in any text stored
PROVISIONAL = re.compile(f"{MARK}\\d+{MARK}")
INVOICE = payments.ATTEMPT_COLUMNS.index("invoice_number")
REMINDED = payments.REMINDER_COLUMNS.index("invoice_number")


def is_provisional(number: str) -> bool:
    """Whether ``number`` is a provisional number (its invoice is numbered at commit)."""
    return number.startswith(MARK)


@dataclass
class Batch:
    """What a billing transaction writes at its end, each kind of row in one bulk write."""

    invoices: list[NewInvoice] = field(default_factory=list)
    attempts: list[list[Any]] = field(default_factory=list)  # ATTEMPT_COLUMNS order
    reminders: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    accounts: list[AccountAfterBilling] = field(default_factory=list)
    checkpoints: list[tuple[str, Checkpoint | None]] = field(default_factory=list)
    provisional: int = 0  # provisional numbers handed out

    def mark(self) -> tuple[int, ...]:
        """Where the batch stands, to :meth:`undo` what one account added after it."""
        return (len(self.invoices), len(self.attempts), len(self.reminders),
                len(self.messages), len(self.accounts), len(self.checkpoints))  # fmt: skip

    def undo(self, mark: tuple[int, ...]) -> None:
        """Drop what was added since ``mark`` (an account that could not be billed)."""
        del self.invoices[mark[0] :], self.attempts[mark[1] :], self.reminders[mark[2] :]
        del self.messages[mark[3] :], self.accounts[mark[4] :], self.checkpoints[mark[5] :]

    def provisional_number(self) -> str:
        """A number for an invoice issued by this batch, until :meth:`take_numbers`."""
        self.provisional += 1
        return f"{MARK}{self.provisional}{MARK}"

    def take_numbers(self, connection: Connection) -> None:
        """Number the batch's invoices (in issue order) with one update of the sequence, and
        put the numbers wherever their provisional ones are. Locks the sequence until the
        transaction ends: call it last."""
        fresh = [e for e in self.invoices if e.number is not None and is_provisional(e.number)]
        if not fresh:
            return
        numbers = repository.next_numbers(connection, INVOICE_PREFIX, len(fresh))
        mapping = {entry.number or "": number for entry, number in zip(fresh, numbers, strict=True)}
        for entry in fresh:
            entry.number = mapping[entry.number or ""]
        for entry in self.invoices:
            if any(line.corrects and is_provisional(line.corrects) for line in entry.invoice.lines):
                entry.invoice = renumbered(entry.invoice, mapping)
        for row in self.attempts:
            row[INVOICE] = mapping.get(row[INVOICE], row[INVOICE])
        self.reminders = [  # the number is a column of its own: looked up, not searched
            (*row[:REMINDED], mapping.get(row[REMINDED], row[REMINDED]), *row[REMINDED + 1 :])
            for row in self.reminders
        ]
        self.messages = [
            renumbered(message, mapping)
            if message.invoice is not None and is_provisional(message.invoice)
            else message
            for message in self.messages
        ]

    def write(self, connection: Connection, now: datetime) -> None:
        """Take the numbers, then write everything (the transaction's last statements)."""
        with keys_checked_by_index(connection):
            self._write(connection, now)

    def _write(self, connection: Connection, now: datetime) -> None:
        self.take_numbers(connection)
        repository.insert_invoices(connection, self.invoices)
        paid = [row for row in self.attempts if row[payments.SUCCEEDED]]  # receipts, in order
        for row, receipt in zip(
            paid, repository.next_numbers(connection, RECEIPT_PREFIX, len(paid)), strict=True
        ):
            row[payments.RECEIPT] = receipt
        payments.insert_attempts(connection, [tuple(row) for row in self.attempts])
        payments.insert_reminders(connection, self.reminders)
        outbox_store.enqueue(connection, self.messages, now)
        repository.update_accounts_after_billing(connection, self.accounts)
        repository.save_checkpoints(connection, self.checkpoints, now)


@dataclass
class Preloaded:
    """What billing a transaction's accounts reads, read for all of them at once (a few
    queries, whatever their number) once they are locked: each account's billing inputs,
    issued invoices, payment methods, charges, reminders, credit notes on open invoices, and
    billing checkpoints. An account with a checkpoint has its timeline read from it on, and
    of its invoices those issued after it and the open ones (its run reads the rest if it
    finds the checkpoint is not current).
    A run takes its account's part (:meth:`take`); what it records itself it reads again."""

    stored: dict[str, StoredAccount]
    history: dict[str, list[StoredInvoice]]
    methods: dict[str, list[MethodChange]]
    attempts: dict[str, list[Attempt]]
    reminded: dict[str, set[tuple[str, int]]]
    credited: dict[int, int]
    checkpoints: dict[str, Checkpoint]

    @classmethod
    def read(cls, connection: Connection, account_ids: list[str]) -> Preloaded:
        checkpoints = repository.checkpoints_of(connection, account_ids)
        history = repository.issued_invoices_of(
            connection, account_ids, after_checkpoints=list(checkpoints)
        )
        open_ids = [e.id for entries in history.values() for e in entries if e.status == OPEN]
        return cls(
            repository.load_accounts(connection, account_ids, checkpoints),
            history,
            payments.methods_of(connection, account_ids),
            {
                account_id: [stored.attempt for stored in made]
                for account_id, made in payments.attempts_of(connection, account_ids).items()
            },
            payments.reminded_of(connection, account_ids),
            payments.credited(connection, open_ids),
            checkpoints,
        )


def renumbered(value: Any, mapping: dict[str, str]) -> Any:
    """``value`` (text, or containers and frozen records of it) with every provisional number
    replaced by its number."""
    if isinstance(value, str):
        if MARK not in value:
            return value
        return PROVISIONAL.sub(lambda found: mapping.get(found.group(0), found.group(0)), value)
    if isinstance(value, dict):
        return {key: renumbered(item, mapping) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(renumbered(item, mapping) for item in value)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: renumbered(getattr(value, f.name), mapping) for f in fields(value) if f.init
        }
        return replace(value, **changes)
    return value
