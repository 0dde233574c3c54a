"""Checkpoints (issue 14): a walk gone on from a checkpoint is the walk from the start."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from seatwise.core.account import Account, Cancel, Terminate, Uncancel
from seatwise.core.billing import BillingResult, TimelineEvent, generate_invoices, result_of
from seatwise.core.checkpoint import (
    Checkpoint,
    CheckpointError,
    count_up_to,
    generate_from,
    resume,
    take_checkpoint,
)
from seatwise.core.credits import Assign, BuyCredits, CreditsPaid, Start, Unassign
from seatwise.core.errors import SeatwiseError, TimelineError
from seatwise.core.invoicing import Invoice
from seatwise.core.plans import Plan, parse_plan
from seatwise.core.seat_timeline import MemberChange, SeatTimeline
from strategies import START, ZONES, plan_documents, timelines

CREDITS = {"unit_price": "0.10"}


@st.composite
def with_credits_and_ends(draw: st.DrawFn, events: list[TimelineEvent]) -> list[TimelineEvent]:
    """``events`` with credit purchases (paid or not), assignments, starts and unassignments
    for members holding a seat then, a cancellation taken back, and maybe dunning's final
    action at the end (the credit events are dropped for a plan without credits)."""
    out = list(events)
    seats = SeatTimeline(e for e in events if isinstance(e, MemberChange))
    members = sorted({e.member for e in events if isinstance(e, MemberChange)})
    last = max((e.at for e in events), default=START)
    span = max(int((last - START).total_seconds()), 1)
    for _ in range(draw(st.integers(0, 6))):
        at = START + timedelta(seconds=draw(st.integers(0, span)))
        kind = draw(st.sampled_from(["buy", "assign", "start", "unassign", "uncancel"]))
        present = [m for m in members if seats.state_at(m, at) == "active"]
        if kind == "buy":
            out.append(BuyCredits(at, draw(st.integers(1, 500))))
            if draw(st.booleans()):
                paid = at + timedelta(hours=draw(st.integers(0, 900)))
                out.append(CreditsPaid(paid, at))
        elif kind == "uncancel":
            out.append(Uncancel(at))
        elif present:
            member = draw(st.sampled_from(present))
            content = draw(st.sampled_from(["course", "exam"]))
            if kind == "assign":
                out.append(Assign(at, member, content, draw(st.integers(1, 60))))
            elif kind == "start":
                out.append(Start(at, member, content))
            else:
                out.append(Unassign(at, member, content))
    if draw(st.integers(0, 5)) == 0:
        out.append(Terminate(last + timedelta(days=draw(st.integers(1, 200))), "suspend"))
    out.sort(key=lambda event: event.at)  # stable: recorded order within an instant
    return out


CREDIT_EVENTS = (BuyCredits, CreditsPaid, Assign, Start, Unassign)


def without_balance(result: BillingResult) -> object:
    """The state a walk reached; the credit balance is the engine's (it settles itself)."""
    return replace(result.state, credit_balance=0)


def late(checkpoint: Checkpoint, known: list[TimelineEvent]) -> bool:
    return count_up_to(known, checkpoint.at) != checkpoint.events


def chained(
    plan: Plan,
    account: Account,
    recorded: list[tuple[datetime, TimelineEvent]],
    stops: list[datetime],
) -> int:
    """Billing run after run up to each stop, each going on from the previous one's
    checkpoint (its state is JSON text) with the events recorded by then (``recorded``:
    (when recorded, event)); after each run, what the runs proposed so far, by invoice key
    (a run from the start proposes everything again), is what one run from the start over
    the same events proposes. How many runs went on from a checkpoint."""
    billed: dict[tuple[str, datetime, datetime], Invoice] = {}
    checkpoint: Checkpoint | None = None
    resumed = 0
    pending = False
    for index, until in enumerate(stops):
        known = sorted((e for r, e in recorded if r <= until), key=lambda event: event.at)
        whole = generate_invoices(plan, account, known, until)
        if checkpoint is not None and index % 2 and not late(checkpoint, known):
            # as a store reads it: the events after the checkpoint, and the purchases and
            # final action whenever they are dated (ignored by the walk)
            partial = [
                e for e in known if e.at > checkpoint.at or isinstance(e, BuyCredits | Terminate)
            ]
            run = resume(plan, account, partial, until, checkpoint, only_after=True)
            assert run is not None
            result = result_of(run, until, resumed_at=checkpoint.at)
        else:
            result = generate_from(plan, account, known, until, checkpoint)
        if result.resumed_at is None:
            billed = {}
        else:
            resumed += 1
        billed.update((invoice.key, invoice) for invoice in result.proposed)
        assert sorted(billed.values(), key=lambda i: i.issued_at) == list(whole.proposed)
        assert without_balance(result) == without_balance(whole)
        assert result.walk is not None
        checkpoint = take_checkpoint(result.walk, count_up_to(known, until))
        pending = pending or bool(result.walk.pending)
    event(f"pending items at a checkpoint: {pending}")
    return resumed


@settings(
    max_examples=int(os.environ.get("CHECKPOINT_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    plan_documents,
    st.sampled_from([None, "renewal", "monthly"]),  # pending items kept for a while: often
    st.booleans(),
    timelines().flatmap(with_credits_and_ends),
    st.integers(0, 6),
    st.sampled_from(ZONES),
    st.lists(st.integers(0, 900 * 86400), min_size=1, max_size=12),
    st.sampled_from(["random", "daily", "hourly"]),
    st.data(),
)
def test_billing_from_checkpoints_gives_the_invoices_of_one_run_from_the_start(
    document: dict[str, Any],
    pending: str | None,
    credits: bool,
    events: list[TimelineEvent],
    committed: int,
    zone: str,
    offsets: list[int],
    cadence: str,
    data: st.DataObject,
) -> None:
    """Runs at random instants, every day or every hour; new members are reported late
    (recorded up to 60 days after the instant they joined): a run after one of them walks
    from the start, the others go on from a checkpoint."""
    if pending is not None:
        document = {**document, "pending": {"invoice": pending}}
    plan = parse_plan({**document, "credits": CREDITS} if credits else document)
    account = Account(subscribed_at=START, committed_seats=committed, timezone=ZoneInfo(zone))
    first = START - timedelta(days=3)
    if cadence == "random":
        stops = sorted({first + timedelta(seconds=s) for s in offsets})
    else:
        step = timedelta(days=1) if cadence == "daily" else timedelta(hours=1)
        count = 400 if cadence == "daily" else 24 * 40
        stops = [first + step * index for index in range(count)]
    if not credits:
        events = [event for event in events if not isinstance(event, CREDIT_EVENTS)]
    late_hires = [  # new members reported up to 60 days after the instant they joined
        (at + timedelta(seconds=delay), MemberChange(at, f"late{index}", "activate"))
        for index, (at, delay) in enumerate(
            data.draw(
                st.lists(
                    st.tuples(
                        st.integers(0, 400 * 86400).map(lambda s: START + timedelta(seconds=s)),
                        st.integers(0, 60 * 86400),
                    ),
                    max_size=3,
                )
            )
        )
    ]
    recorded = [(event.at, event) for event in events] + late_hires
    events = sorted((event for _, event in recorded), key=lambda event: event.at)
    try:
        generate_invoices(plan, account, events, stops[-1])
        for until in stops:
            known = sorted((e for r, e in recorded if r <= until), key=lambda event: event.at)
            generate_invoices(plan, account, known, until)
    except SeatwiseError as error:
        event(f"refused: {str(error)[:30]}")
        return  # an illegal timeline: refused (the statistics say how many)
    resumed = chained(plan, account, recorded, stops)
    late = sum(  # runs that find an event dated at or before the previous run's instant
        1
        for previous, until in pairwise(stops)
        if any(previous < r <= until and e.at <= previous for r, e in recorded)
    )
    assert resumed == len(stops) - 1 - late


def one_member_on_day_40() -> tuple[Plan, Account, list[TimelineEvent], datetime, Checkpoint]:
    """A seats-monthly account of one member, and its checkpoint 40 days in."""
    plan = parse_plan({"preset": "seats-monthly", "price": "10.00"})
    account = Account(subscribed_at=START)
    events: list[TimelineEvent] = [MemberChange(START, "a", "activate")]
    day = START + timedelta(days=40)
    walk = generate_invoices(plan, account, events, day).walk
    assert walk is not None
    return plan, account, events, day, take_checkpoint(walk, 1)


def test_a_late_event_a_new_plan_or_going_back_makes_a_checkpoint_not_current() -> None:
    plan, account, events, day, checkpoint = one_member_on_day_40()
    assert checkpoint.events == 1
    later = day + timedelta(days=30)
    assert resume(plan, account, events, later, checkpoint) is not None
    late = [*events, MemberChange(day - timedelta(days=1), "b", "activate")]
    assert resume(plan, account, late, later, checkpoint) is None
    dearer = parse_plan({"preset": "seats-monthly", "price": "11.00"})
    assert resume(dearer, account, events, later, checkpoint) is None
    other_zone = replace(account, timezone=ZoneInfo("Europe/Paris"))
    assert resume(plan, other_zone, events, later, checkpoint) is None
    assert resume(plan, account, events, day - timedelta(seconds=1), checkpoint) is None
    # after the checkpoint's instant a new event is news, not a late one
    news = [*events, MemberChange(day + timedelta(days=1), "b", "activate")]
    result = generate_from(plan, account, news, later, checkpoint)
    assert result.resumed_at == day
    assert [(i.kind, i.issued_at, i.total) for i in result.proposed] == [
        ("renewal", datetime(2023, 3, 31, 9, 30, tzinfo=UTC), 2000),
    ]


def test_an_unreadable_checkpoint_is_walked_from_the_start() -> None:
    plan, account, events, day, good = one_member_on_day_40()
    for state in ({"sweep": []}, [], {"sweep": [1, 2]}, "{"):
        broken = replace(good, state=state if isinstance(state, str) else json.dumps(state))
        with pytest.raises(CheckpointError):
            resume(plan, account, events, day, broken)
    result = generate_from(plan, account, events, day, broken)
    assert result.resumed_at is None
    assert len(result.proposed) == 2


def test_a_checkpoint_keeps_every_part_of_the_walk_s_state() -> None:
    """Pending items with their explanations, the wallet (open reservations, started ones,
    its ledger), an unpaid purchase, the sweep's members and cycle, a cancellation: all come
    back equal, and the walk goes on from them as the whole walk does."""
    plan = parse_plan(
        {"preset": "licences-annual", "price": "120.00", "credits": CREDITS, "collection":
         "charge_automatically"}
    )  # fmt: skip
    account = Account(subscribed_at=START, committed_seats=2)
    day = timedelta(days=1)
    events: list[TimelineEvent] = [
        MemberChange(START, "ana", "activate"),
        MemberChange(START, "ben", "invite"),
        BuyCredits(START + day, 100),
        CreditsPaid(START + 2 * day, START + day),
        BuyCredits(START + 3 * day, 7),
        Assign(START + 4 * day, "ana", "course", 5),
        Assign(START + 4 * day, "ana", "exam", 2),
        Start(START + 5 * day, "ana", "exam"),
        MemberChange(START + 6 * day, "cleo", "activate"),
        MemberChange(START + 7 * day, "dan", "activate"),
        MemberChange(START + 8 * day, "dan", "deactivate"),
        Cancel(START + 9 * day),
    ]
    at = START + 10 * day
    whole = generate_invoices(plan, account, events, at).walk
    assert whole is not None
    assert whole.pending and whole.wallet.open and whole.wallet.started
    assert whole.awaiting_payment and whole.ends_at is not None
    checkpoint = take_checkpoint(whole, len(events))
    run = resume(plan, account, events, at, checkpoint)
    assert run is not None
    for name in (
        "committed", "paid_seats", "term_index", "next_month", "started", "ended", "ends_at",
        "pending", "pending_total", "pending_since", "terminated", "wallet",
        "awaiting_payment", "overage",
    ):  # fmt: skip
        assert getattr(run, name) == getattr(whole, name), name
    assert run.sweep.snapshot() == whole.sweep.snapshot()
    assert run.sweep._order == whole.sweep._order == {"ana": 0, "ben": 1, "cleo": 2, "dan": 3}
    assert run.sweep.holders() == whole.sweep.holders() == ["ana", "cleo"]
    later = START + 400 * day
    assert generate_from(plan, account, events, later, checkpoint).proposed == tuple(
        invoice
        for invoice in generate_invoices(plan, account, events, later).proposed
        if invoice.issued_at > at
    )


def test_a_walk_from_a_checkpoint_refuses_what_a_walk_from_the_start_refuses() -> None:
    """The changes after the checkpoint are validated by the resumed walk's sweep, against
    the members' states the checkpoint keeps: the same refusal as from the start."""
    plan, account, events, day, checkpoint = one_member_on_day_40()
    member = next(e.member for e in events if isinstance(e, MemberChange))
    later = day + timedelta(days=30)
    again = [*events, MemberChange(day + timedelta(days=1), member, "activate")]
    for walk_it in (
        lambda: resume(plan, account, again, later, checkpoint),
        lambda: generate_invoices(plan, account, again, later),
    ):
        with pytest.raises(TimelineError, match=f"member '{member}'.*cannot activate"):
            walk_it()
    backwards = [*events, BuyCredits(day + timedelta(days=2), 5), Cancel(day + timedelta(days=1))]
    with pytest.raises(TimelineError, match="time goes backwards"):
        resume(plan, account, backwards, later, checkpoint, only_after=True)


def test_a_checkpoint_writes_a_shared_explanation_once_and_reads_it_back_shared() -> None:
    """A remaining/unused pair shares its explanation: written once (lines are arrays by
    position, the explanation an index), and the lines read back share it again."""
    plan = parse_plan(
        {"preset": "seats-annual", "price": "120.00", "pending": {"invoice": "renewal"}}
    )
    account = Account(subscribed_at=START)
    events: list[TimelineEvent] = [
        MemberChange(START, "ana", "activate"),
        MemberChange(START + timedelta(days=100), "ben", "activate"),
        MemberChange(START + timedelta(days=101), "cleo", "activate"),
    ]
    at = START + timedelta(days=102)
    whole = generate_invoices(plan, account, events, at).walk
    assert whole is not None
    checkpoint = take_checkpoint(whole, len(events))
    written = json.loads(checkpoint.state)["pending"]
    assert [row[0] for row in written["lines"]] == [
        "remaining_time", "unused_time", "remaining_time", "unused_time",
    ]  # fmt: skip
    assert [row[7] for row in written["lines"]] == [0, 0, 1, 1]
    assert [(summary[:26], members) for summary, members, _ in written["explanations"]] == [
        ("Seats went from 1 to 2 on ", ["ben"]),
        ("Seats went from 2 to 3 on ", ["cleo"]),
    ]
    run = resume(plan, account, events, at, checkpoint)
    assert run is not None
    assert run.pending == whole.pending
    assert run.pending[0].explanation is run.pending[1].explanation
    assert run.pending[2].explanation is run.pending[3].explanation
    for broken in (
        lambda lines: lines[0].__setitem__(7, 2),  # no such explanation
        lambda lines: lines[0].__setitem__(7, -1),
        lambda lines: lines.__setitem__(0, lines[0][:8]),  # a value short
        lambda lines: lines[0].__setitem__(2, "two"),  # a quantity that is no number
    ):
        state = json.loads(checkpoint.state)
        broken(state["pending"]["lines"])
        with pytest.raises(CheckpointError):
            resume(plan, account, events, at, replace(checkpoint, state=json.dumps(state)))
