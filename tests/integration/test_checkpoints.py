"""Incremental billing (issue 14): a run goes on from the checkpoint the previous run left.

Two stores hold the same accounts and are billed at the same instants, every 3 days over
twenty months; one goes on from checkpoints, the other walks every account from its first
event (checkpoints ignored). Halfway, the same late event, payment method and payment by hand
are recorded in both. Both end with the same invoices (numbers included), charges, reminders,
messages and accounts, and the first store walked from the start only when it had to.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from test_only_what_is_due import FILES, NOW, contents, news, store

from seatwise.core import checkpoint as checkpoints
from seatwise.core.account import Terminate
from seatwise.core.billing import BillingResult, BillingWalk
from seatwise.core.credits import BuyCredits
from seatwise.core.seat_timeline import Member, MemberChange
from seatwise.engine import account_walk
from seatwise.engine.billing_run import bill
from seatwise.engine.recording import record_event
from seatwise.store import repository
from seatwise.store.tables import accounts, billing_checkpoints

START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2024, 9, 1, tzinfo=UTC)


class Walks:
    """Counts the engine's billing walks — gone on from a checkpoint, or from the start — and
    makes it ignore checkpoints while ``use`` is False."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.use = True
        self.resumed = {True: 0, False: 0}
        self.whole = {True: 0, False: 0}
        self.read_from_checkpoint = 0  # walks resumed with only the events after the checkpoint
        real_generate, real_resume = checkpoints.generate_from, checkpoints.resume

        def generate_from(*args: Any) -> BillingResult:  # a whole timeline
            if not self.use:
                args = (*args[:-1], None)
            result = real_generate(*args)
            counter = self.whole if result.resumed_at is None else self.resumed
            counter[self.use] += 1
            return result

        def resume(*args: Any) -> BillingWalk | None:  # a timeline read from the checkpoint on
            run = real_resume(*args) if self.use else None
            if run is not None:
                self.resumed[self.use] += 1
                self.read_from_checkpoint += 1
            return run

        monkeypatch.setattr(account_walk, "generate_from", generate_from)
        monkeypatch.setattr(account_walk, "resume", resume)


def saved(engine: Engine) -> dict[str, datetime]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(billing_checkpoints.c.account_id, billing_checkpoints.c.at)
        )
        return {account_id: at.astimezone(UTC) for account_id, at in rows}


def test_runs_from_checkpoints_bill_what_runs_from_the_start_do(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    incremental = store(database_url)
    from_start = store(f"sqlite:///{tmp_path / 'from-start.db'}")
    walks = Walks(monkeypatch)
    at, news_at = START, START + timedelta(days=405)
    while at < END:
        at += timedelta(days=3)
        if news_at <= at < news_at + timedelta(days=3):
            news(incremental, at)  # a late hire: that account walks from the start once
            news(from_start, at)
            before = walks.whole[True]
        walks.use = True
        bill(incremental, at, clock=NOW)
        if news_at <= at < news_at + timedelta(days=3):
            assert walks.whole[True] == before + 1
        walks.use = False
        bill(from_start, at, clock=NOW)
    assert contents(incremental) == contents(from_start)
    assert walks.resumed[False] == 0
    # each account walked from the start in its first run, and the late hire's once more;
    # every other run of an account went on from its checkpoint
    assert walks.whole[True] == len(FILES) + 1, walks.whole
    assert walks.resumed[True] > 10 * len(FILES), walks.resumed
    assert walks.read_from_checkpoint == walks.resumed[True]  # none read the whole timeline
    checkpointed = saved(incremental)
    assert set(checkpointed) == {path.stem for path in FILES}
    assert saved(from_start).keys() == checkpointed.keys()  # taken there too, never used
    incremental.dispose()
    from_start.dispose()


def test_a_late_event_makes_the_next_run_walk_from_the_start(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = store(database_url)
    walks = Walks(monkeypatch)
    first = datetime(2023, 6, 1, tzinfo=UTC)
    bill(engine, first, clock=NOW)
    assert walks.whole[True] == len(FILES) and walks.resumed[True] == 0
    assert set(saved(engine).values()) == {first}
    later = datetime(2023, 7, 1, tzinfo=UTC)
    bill(engine, later, clock=NOW, everything=True)
    assert walks.whole[True] == len(FILES) and walks.resumed[True] == len(FILES)
    account = "monthly_pending_threshold"
    late = MemberChange(datetime(2023, 3, 1, tzinfo=UTC), "late-hire", "activate")
    record_event(engine, account, late, NOW, Member("late-hire"))
    report = bill(engine, later, clock=NOW)
    assert (report.accounts, report.invoices) == (1, 1)  # its adjustment
    assert walks.whole[True] == len(FILES) + 1
    # a checkpoint the account's terms no longer match is not used either
    with engine.begin() as connection:
        connection.execute(
            update(billing_checkpoints)
            .where(billing_checkpoints.c.account_id == account)
            .values(fingerprint="0" * 64)
        )
        count = connection.execute(select(func.count()).select_from(billing_checkpoints))
        assert count.scalar() == len(FILES)
    bill(engine, datetime(2023, 8, 1, tzinfo=UTC), clock=NOW, everything=True)
    assert walks.whole[True] == len(FILES) + 2
    assert saved(engine)[account] == datetime(2023, 8, 1, tzinfo=UTC)
    engine.dispose()


def test_a_timeline_is_read_from_its_checkpoint_on_unless_an_event_came_late(
    database_url: str,
) -> None:
    engine = store(database_url)
    account = "credits_paid_on_a_retry"  # credit purchases: read whenever they are dated
    first = datetime(2024, 3, 1, tzinfo=UTC)
    bill(engine, first, clock=NOW)
    with engine.connect() as connection:
        whole = repository.load_account(connection, account)
        checkpoint = repository.checkpoints_of(connection, [account])[account]
        stored = repository.load_accounts(connection, [account], {account: checkpoint})[account]
    assert checkpoint.at == first and checkpoint.last_seq == whole.last_seq
    assert checkpoint.events == sum(1 for event in whole.events if event.at <= first)
    assert whole.events_after is None and stored.events_after == first
    assert stored.events == tuple(
        e for e in whole.events if e.at > first or isinstance(e, BuyCredits | Terminate)
    )
    assert any(isinstance(e, BuyCredits) and e.at <= first for e in stored.events)
    other = "reminders_15_7_3_1"  # of its invoices, a run needs only the open one
    with engine.connect() as connection:
        everything = repository.issued_invoices(connection, other)
        needed = repository.issued_invoices_of(connection, [other], after_checkpoints=[other])
    assert [(e.status, e.invoice.kind) for e in everything] == [
        ("open", "initial"),
        ("paid", "statement"),
        ("paid", "statement"),
    ]
    assert all(e.invoice.issued_at <= first for e in everything)
    assert needed[other] == everything[:1]
    with engine.connect() as connection:  # checkpoints not given: everything is read
        assert repository.issued_invoices_of(connection, [other])[other] == everything
        assert repository.load_accounts(connection, [account], {})[account] == whole
    news = MemberChange(datetime(2024, 3, 5, tzinfo=UTC), "newcomer", "activate")
    record_event(engine, account, news, NOW, Member("newcomer"))
    with engine.connect() as connection:
        stored = repository.load_accounts(connection, [account], {account: checkpoint})[account]
    assert stored.events_after == first and news in stored.events
    assert stored.last_seq == checkpoint.last_seq + 1
    late = MemberChange(datetime(2024, 2, 20, tzinfo=UTC), "late-hire", "activate")
    record_event(engine, account, late, NOW, Member("late-hire"))
    with engine.connect() as connection:
        stored = repository.load_accounts(connection, [account], {account: checkpoint})[account]
        again = repository.load_account(connection, account)
    assert stored.events_after is None and stored.events == again.events  # read whole
    assert late in stored.events and stored.last_seq == checkpoint.last_seq + 2
    engine.dispose()


def test_a_chunks_timelines_hold_every_event_as_recorded(database_url: str) -> None:
    """A billing run reads member changes by their five columns and the other events whole,
    by a second query, each put back in its place: every account's timeline is the one its
    recorded rows hold (read whole, by SQLAlchemy), in time order — a late hire included,
    and credits, purchases, cancellations and dunning's final actions among the events."""
    engine = store(database_url)
    news(engine, datetime(2024, 3, 1, tzinfo=UTC))  # a late hire
    bill(engine, END, clock=NOW)  # which records purchases paid and final actions too
    with engine.connect() as connection:
        ids = list(connection.execute(select(accounts.c.id)).scalars())
        read = repository.load_accounts(connection, ids)
        recorded = {
            account_id: [
                row.event for row in repository.timeline_page(connection, account_id, None, 1_000)
            ]
            for account_id in ids
        }
    kinds = {type(e).__name__ for events in recorded.values() for e in events}
    assert kinds == {
        "MemberChange", "Assign", "Start", "Cancel", "Terminate", "BuyCredits", "CreditsPaid"
    }  # fmt: skip
    late = [a for a, events in recorded.items() if events != sorted(events, key=at_of)]
    assert late == ["monthly_pending_threshold"]
    assert sorted(read) == sorted(ids)
    for account_id, events in recorded.items():
        assert list(read[account_id].events) == sorted(events, key=at_of), account_id
    engine.dispose()


def at_of(event: Any) -> datetime:
    return event.at  # type: ignore[no-any-return]
