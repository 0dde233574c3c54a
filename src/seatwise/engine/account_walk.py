"""What one account's billing run knows of its billing, and the pure core's walk over it.

A run (:class:`~seatwise.engine.collection.AccountRun`) holds the account as stored, the
invoices already issued and the account's checkpoint (:mod:`seatwise.core.checkpoint`).
When the account has a checkpoint, they were read from it on: the events dated after it (and
the credit purchases and dunning's final action whenever dated), the invoices issued after it
and the open ones. :meth:`AccountWalk.recompute` goes on from the checkpoint when it is
current and reconciles only what comes after it; otherwise it reads the rest — the whole
timeline, every issued invoice — and walks from the first event, as billing always did.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from sqlalchemy import Connection

from seatwise.core.billing import BillingResult, result_of
from seatwise.core.checkpoint import (
    Checkpoint,
    CheckpointError,
    count_up_to,
    generate_from,
    resume,
    take_checkpoint,
)
from seatwise.core.invoicing import Invoice
from seatwise.core.reconcile import IssuedInvoice, reconcile
from seatwise.core.seat_timeline import MemberChange, SeatTimeline
from seatwise.engine.batch import is_provisional
from seatwise.store import repository
from seatwise.store.repository import StoredAccount, StoredInvoice


class AccountWalk:
    """One account's billing inputs in a run up to ``until``, and the walk over them."""

    def __init__(
        self,
        connection: Connection,
        until: datetime,
        stored: StoredAccount,
        history: list[StoredInvoice],
        checkpoint: Checkpoint | None,
        whole_history: bool,
    ) -> None:
        self.connection = connection
        self.account_id = stored.id
        self.until = until
        self.stored = stored
        self.issued = [IssuedInvoice(entry.number or "", entry.invoice) for entry in history]
        self.checkpoint = checkpoint
        self.whole_history = whole_history  # else: those issued after the checkpoint, open ones
        self.outstanding = False  # an adjustment waits for an invoice to carry it
        self._whole_seats: SeatTimeline | None = None

    @classmethod
    def read(
        cls, connection: Connection, account_id: str, until: datetime
    ) -> tuple[AccountWalk, list[StoredInvoice]]:
        """Read the account (its timeline from its checkpoint on) and all its invoices."""
        checkpoint = repository.checkpoints_of(connection, [account_id]).get(account_id)
        history = repository.issued_invoices(connection, account_id)
        walk = cls(connection, until, _read(connection, account_id, checkpoint), history,
                   checkpoint, whole_history=True)  # fmt: skip
        return walk, history

    def read_again(self) -> None:
        """Read the account again (the run recorded an event)."""
        self.stored = _read(self.connection, self.account_id, self.checkpoint)

    def issued_now(self, number: str, invoice: Invoice) -> None:
        """The run issued ``invoice`` (``number`` provisional until the batch is written)."""
        self.issued.append(IssuedInvoice(number, invoice))

    def recompute(self) -> tuple[BillingResult, list[Invoice]]:
        """What the timeline says is still to issue (gone on from the checkpoint when it is
        current: only the invoices after it are proposed, and compared with those issued
        after it — everything before it was reconciled when it was taken)."""
        stored, plan, checkpoint = self.stored, self.stored.plan, self.checkpoint
        if stored.events_after is None:
            result = generate_from(plan, stored.account, stored.events, self.until, checkpoint)
        else:  # the timeline was read from the checkpoint on
            run = None
            if checkpoint is not None and checkpoint.at == stored.events_after:
                with contextlib.suppress(CheckpointError):  # unreadable: as if it were not
                    run = resume(plan, stored.account, stored.events, self.until, checkpoint, True)
            if run is None or checkpoint is None:  # not current: the whole timeline decides
                self.checkpoint = None
                self.stored = repository.load_account(self.connection, self.account_id)
                return self.recompute()
            result = result_of(run, self.until, resumed_at=checkpoint.at)
        if result.resumed_at is None:
            self._read_whole_history()  # a walk from the start is reconciled with all of it
            issued = self.issued
        else:
            since = result.resumed_at
            issued = [entry for entry in self.issued if entry.invoice.issued_at > since]
            # Every invoice a walk from the checkpoint proposes is dated after it, and its key
            # (kind, period) ends after it: none can be one issued before. Checked when known.
            before = {entry.invoice.key for entry in self.issued} - {e.invoice.key for e in issued}
            if any(invoice.key in before for invoice in result.proposed):  # cannot happen
                self.checkpoint = None  # …but if it did, the whole history would decide
                return self.recompute()
        due = reconcile(
            result.proposed,
            issued,
            self.until,
            plan.currency,
            plan.net_days,
            stored.account.timezone,
        )
        self.outstanding = bool(due.outstanding)
        return result, list(due.to_issue)

    def seats_for(self, result: BillingResult, at: datetime) -> SeatTimeline:
        """The members' states to tell a fact at ``at`` by: a walk resumed from a checkpoint
        knows them from the checkpoint's instant on; before it, the whole timeline does."""
        if result.resumed_at is None or at >= result.resumed_at:
            return result.seats
        if self._whole_seats is None:
            events = self.stored.events
            if self.stored.events_after is not None:  # read from the checkpoint on
                events = repository.load_account(self.connection, self.account_id).events
            self._whole_seats = SeatTimeline(
                e for e in events if isinstance(e, MemberChange) and e.at <= self.until
            )
        return self._whole_seats

    def checkpoint_after(self, result: BillingResult) -> Checkpoint | None:
        """The checkpoint the run leaves: where ``result``'s walk stands at ``until``; None
        while an adjustment waits for an invoice (the next run must walk from the start)."""
        if self.outstanding or result.walk is None:
            return None
        return take_checkpoint(result.walk, self._events_through(), self.stored.last_seq)

    def _read_whole_history(self) -> None:
        """All the issued invoices, in issue order, where only those issued after the
        checkpoint and the open ones were read; then the ones this run issued."""
        if self.whole_history:
            return
        own = [entry for entry in self.issued if is_provisional(entry.number)]  # not stored yet
        stored = repository.issued_invoices(self.connection, self.account_id)
        self.issued = [IssuedInvoice(e.number or "", e.invoice) for e in stored] + own
        self.whole_history = True

    def _events_through(self) -> int:
        """How many of the account's events are dated at or before ``until``."""
        stored, checkpoint = self.stored, self.checkpoint
        if stored.events_after is None or checkpoint is None:
            return count_up_to(stored.events, self.until)
        later = sum(1 for event in stored.events if checkpoint.at < event.at <= self.until)
        return checkpoint.events + later


def _read(connection: Connection, account_id: str, checkpoint: Checkpoint | None) -> StoredAccount:
    """The account as stored; its timeline from ``checkpoint`` on, when there is one."""
    if checkpoint is not None:
        found = repository.load_accounts(connection, [account_id], {account_id: checkpoint})
        if account_id in found:
            return found[account_id]
    return repository.load_account(connection, account_id)
