"""One account's billing run: issuing and collecting in time order (SPEC 6, 8).

For one account, under its lock, up to ``until``:

1. the pure core recomputes the invoices from the timeline and reconciles them with those
   already issued: what is still to issue;
2. the pure collection rule (:func:`seatwise.core.dunning.next_action`) says what is due next
   among the unpaid invoices — stored ones, ones issued by this run, and the ones about to be;
3. the invoices due before that action are issued (settled against the balance, numbered,
   told about), then the action is performed (:mod:`seatwise.engine.run_actions`): a
   charge through the payment gateway, a reminder, or dunning's final action;
4. a charge that pays a credits purchase, and a final action, are timeline events
   (``CreditsPaid``, ``Terminate``): they are recorded and the core recomputes from step 1;
   anything else goes on with step 2, until nothing is due.

Step 1 goes on from the account's checkpoint (where the walk stood after the previous run)
when it is current, and reconciles only what comes after it
(:mod:`seatwise.engine.account_walk`); a late event, a new plan or new account terms make
the run walk from the start, as before checkpoints. A run leaves a checkpoint of its own
when everything up to ``until`` is reconciled (no adjustment waits for an invoice to carry
it).

So a billing run on the 15th performs the charge due on the 8th before it issues the invoice
of the 9th, and an account deleted on the 10th gets no invoice after it — the same invoices,
attempts and notifications as :func:`seatwise.core.payments.bill_and_collect` simulates.

Every message (email, webhook) goes to the outbox in the same transaction. Charges go to the
gateway before the transaction commits, with an idempotency key (the account, the invoice's
kind and period, the attempt: no renumbering changes it), so a run killed or rolled back after
charging and run again charges once with a gateway that honours the key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from seatwise.core.account import Terminate
from seatwise.core.billing import BillingResult
from seatwise.core.credits import CreditsPaid
from seatwise.core.dunning import (
    Action,
    Attempt,
    Charge,
    FinalAction,
    MethodChange,
    Receivable,
    Remind,
    invoice_collection,
    next_action,
    rank,
)
from seatwise.core.gateway import PaymentGateway
from seatwise.core.invoice_states import OPEN, PAID
from seatwise.core.invoicing import Invoice, settle, settle_one
from seatwise.core.payments import purchases_collection, receivable
from seatwise.core.records import replaced
from seatwise.engine import messages
from seatwise.engine.account_walk import AccountWalk
from seatwise.engine.batch import Batch, Preloaded
from seatwise.engine.gateways import configured_gateway
from seatwise.engine.run_actions import perform
from seatwise.engine.run_end import finish
from seatwise.store import payments_repository as payments
from seatwise.store import repository
from seatwise.store.outbox_repository import Endpoint
from seatwise.store.repository import NewInvoice, StoredAccount

UPCOMING = "~"  # an invoice about to be issued, as collection sees it: ~0, ~1, … in order


def _numbered(action: Action, numbers: Sequence[str]) -> Action:
    """The action, for the invoice numbered ``numbers[k]`` where it named ``~k``, the k-th
    of the invoices to issue when it was found (they have been issued since)."""
    if not action.invoice.startswith(UPCOMING):
        return action
    return replaced(action, invoice=numbers[int(action.invoice.removeprefix(UPCOMING))])


@dataclass
class _Unpaid:
    """An invoice this run may collect: number, invoice, amount due, and where it lives."""

    number: str
    invoice: Invoice
    amount: int
    entry: NewInvoice | None = None  # issued by this run (not stored yet)
    stored_id: int | None = None


class AccountRun:
    """Bills and collects one account up to ``until`` (see the module's docstring)."""

    def __init__(
        self,
        connection: Connection,
        account_id: str,
        until: datetime,
        batch: Batch,
        gateway: PaymentGateway | None = None,
        endpoints: list[Endpoint] | None = None,
        preloaded: Preloaded | None = None,
    ) -> None:
        self.connection = connection
        self.account_id = account_id
        self.until = until
        self.batch = batch
        self.gateway = gateway or configured_gateway()
        self.endpoints = endpoints or []
        self.preloaded = preloaded if preloaded and account_id in preloaded.stored else None
        self._seen: StoredAccount | None = None  # the account _view was computed for
        self._view: tuple[bool, dict[datetime, str]] = (False, {})

    @property
    def stored(self) -> StoredAccount:
        """The account as stored (read again after the run records an event)."""
        return self.walk.stored

    def _collection_view(self) -> tuple[bool, dict[datetime, str]]:
        """Whether dunning's final action ended the account, and how each credit purchase
        is paid (its timeline holds both, even read from a checkpoint on)."""
        if self._seen is not self.walk.stored:
            events = self.walk.stored.events
            self._seen = self.walk.stored
            self._view = (
                any(isinstance(event, Terminate) for event in events),
                purchases_collection(events),
            )
        return self._view

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> None:
        connection, pre, account_id = self.connection, self.preloaded, self.account_id
        if pre is not None:
            history = pre.history.get(account_id, [])
            credited = pre.credited
            checkpoint = pre.checkpoints.get(account_id)
            self.walk = AccountWalk(connection, self.until, pre.stored[account_id], history,
                                    checkpoint, whole_history=checkpoint is None)  # fmt: skip
        else:
            self.walk, history = AccountWalk.read(connection, account_id, self.until)
            open_ids = [entry.id for entry in history if entry.status == OPEN]
            credited = payments.credited(connection, open_ids) if open_ids else {}
        self.balance = self.stored.credit_balance
        self.unpaid: dict[str, _Unpaid] = {}
        for entry in history:
            if entry.status == OPEN and entry.number is not None:
                amount = entry.invoice.total - credited.get(entry.id, 0)
                self.unpaid[entry.number] = _Unpaid(
                    entry.number, entry.invoice, amount, stored_id=entry.id
                )
        self._methods: list[MethodChange] | None = None
        self._attempts: list[Attempt] | None = None
        self._reminded: set[tuple[str, int]] | None = None
        if pre is not None:
            self._methods = pre.methods.get(account_id, [])
            self._attempts = pre.attempts.get(account_id, [])
            self._reminded = pre.reminded.get(account_id, set())

        result, to_issue = self.walk.recompute()
        while True:
            action = self.next_action(to_issue)
            due = len(to_issue)  # the invoices (in issue order) that come before the action
            if action is not None:
                due = next(
                    (
                        index
                        for index, invoice in enumerate(to_issue)
                        if invoice.issued_at > action.at
                        or (invoice.issued_at == action.at and rank(action) < 2)
                    ),
                    len(to_issue),
                )
            if due:
                numbers = self.issue(result, to_issue[:due])
                to_issue = to_issue[due:]
                if action is None:
                    break  # and nothing is due after them: they were all considered
                # Issuing them changed nothing the action was found from (they were read
                # as upcoming, settled alike): asking again finds it again, numbered.
                action = _numbered(action, numbers)
            if action is None:
                break
            if perform(self, result, action):  # the timeline changed: recompute
                self.walk.read_again()
                result, to_issue = self.walk.recompute()
        finish(self, result)

    # -- collection state, loaded when first needed -----------------------------------------

    @property
    def methods(self) -> list[MethodChange]:
        if self._methods is None:
            self._methods = payments.methods(self.connection, self.account_id)
        return self._methods

    @property
    def attempts(self) -> list[Attempt]:
        if self._attempts is None:
            self._attempts = [
                stored.attempt for stored in payments.attempts(self.connection, self.account_id)
            ]
        return self._attempts

    @property
    def reminded(self) -> set[tuple[str, int]]:
        if self._reminded is None:
            self._reminded = payments.reminded(self.connection, self.account_id)
        return self._reminded

    def next_action(
        self, to_issue: Sequence[Invoice], now: datetime | None = None
    ) -> Charge | FinalAction | Remind | None:
        """The first collection action due by ``now`` (default: the run's ``until``), among
        the unpaid invoices and those ``to_issue`` next (in issue order, settled against the
        balance as they would be: only as many as could come first)."""
        plan = self.stored.plan
        terminated, purchases = self._collection_view()
        if terminated:
            return None  # after dunning's final action nothing more is collected or reminded
        receivables = [
            receivable(plan, u.number, u.invoice, purchases, amount=u.amount)
            for u in self.unpaid.values()
        ]
        if not to_issue and not any(r.amount > 0 for r in receivables):
            return None
        charged = any(r.collection == "charge_automatically" for r in receivables) or any(
            invoice_collection(plan, invoice.kind, invoice.period.start, purchases)
            == "charge_automatically"
            for invoice in to_issue
        )
        return next_action(
            plan,
            self.stored.account.timezone,
            receivables,
            self.attempts if charged else [],  # a sent invoice is paid by hand, not charged
            self.methods if charged else [],
            self.reminded if plan.reminders else set(),
            self.until if now is None else now,
            upcoming=self._upcoming(to_issue, purchases),
        )

    def _upcoming(
        self, to_issue: Sequence[Invoice], purchases: Mapping[datetime, str]
    ) -> Iterator[Receivable]:
        """The invoices to issue as collection will see them, settled one by one as asked."""
        balance, plan = self.balance, self.stored.plan
        for index, invoice in enumerate(to_issue):
            settled, balance = settle_one(invoice, balance, plan.currency)
            yield receivable(plan, f"{UPCOMING}{index}", settled, purchases)

    # -- issuing ----------------------------------------------------------------------------

    def issue(self, result: BillingResult, due: list[Invoice]) -> list[str]:
        """Issue ``due``, in order; their (provisional) numbers, in the same order."""
        plan, code = self.stored.plan, self.stored.plan.currency.code
        settled, self.balance = settle(due, self.balance, plan.currency)
        numbers = []
        for invoice in settled:  # numbered when the batch is written (engine.batch)
            number = self.batch.provisional_number()
            numbers.append(number)
            total = invoice.total
            nothing_due = total <= 0
            entry = NewInvoice(
                self.account_id, code, number, PAID if nothing_due else OPEN, invoice
            )
            self.batch.invoices.append(entry)
            self.walk.issued_now(number, invoice)
            self.tell(result, invoice.issued_at, "invoice_issued", number, invoice)
            if nothing_due:
                if invoice.kind == "credits":  # the account's balance paid for the credits
                    self.record_event(CreditsPaid(invoice.issued_at, invoice.period.start))
            else:
                self.unpaid[number] = _Unpaid(number, invoice, total, entry=entry)
        return numbers

    def record_event(self, event: CreditsPaid | Terminate) -> None:
        seq = repository.next_event_seq(self.connection, self.account_id)
        repository.append_events(self.connection, self.account_id, [event], self.until, seq)

    # -- telling ----------------------------------------------------------------------------

    def tell(
        self,
        result: BillingResult,
        at: datetime,
        kind: str,
        number: str | None,
        invoice: Invoice | None,
        amount_due: int | None = None,
        **details: Any,
    ) -> None:
        self.batch.messages += messages.tell(
            self.stored, self.walk.seats_for(result, at), self.endpoints, at, kind, number, invoice,
            amount_due, **details,
        )  # fmt: skip
