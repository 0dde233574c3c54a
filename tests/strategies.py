"""Hypothesis strategies shared by the property tests: random plans (every preset, with
options) and legal member timelines, and a scenario of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from seatwise.core.account import Account, Cancel
from seatwise.core.billing import TimelineEvent
from seatwise.core.plans import parse_plan
from seatwise.core.presets import PRESETS
from seatwise.core.seat_timeline import TRANSITIONS, MemberChange
from seatwise.scenario import Scenario

START = datetime(2023, 1, 31, 9, 30, tzinfo=UTC)
ZONES = ["UTC", "America/New_York", "Europe/Paris", "Asia/Tokyo", "Australia/Sydney"]

plan_documents = st.builds(
    lambda preset, price, overrides: {"preset": preset, "price": price, **overrides},
    st.sampled_from(sorted(PRESETS)),
    st.decimals(min_value=0, max_value=500, places=2).map(str),
    st.fixed_dictionaries(
        {},
        optional={
            "increases": st.fixed_dictionaries(
                {},
                optional={
                    "charge": st.sampled_from(["none", "prorated", "full"]),
                    "proration": st.sampled_from(["day", "second"]),
                    "lines": st.sampled_from(["remaining_unused", "delta"]),
                },
            ),
            "decreases": st.sampled_from(["keep", "credit"]),
            "pending": st.fixed_dictionaries(
                {"invoice": st.sampled_from(["immediately", "threshold", "monthly", "renewal"])}
            ),
            "minimum_seats": st.integers(0, 5),
            "count_invited": st.booleans(),
        },
    ),
)
plans = plan_documents.map(parse_plan)


@st.composite
def timelines(draw: st.DrawFn) -> list[TimelineEvent]:
    """A legal member timeline: each step picks a member and one of its legal actions."""
    states: dict[str, str | None] = {}
    left: dict[str, datetime] = {}  # deactivated when: a return is legal within 6 months
    events: list[TimelineEvent] = []
    instant = START
    for index in range(draw(st.integers(0, 5))):
        states[f"s{index}"] = "active"
        events.append(MemberChange(START, f"s{index}", "activate"))
    for step in range(draw(st.integers(0, 25))):
        instant += timedelta(seconds=draw(st.integers(0, 90 * 86400)))
        if draw(st.integers(0, 30)) == 0:
            events.append(Cancel(instant))
            continue
        member = draw(st.sampled_from([*states, f"n{step}"]))
        state = states.get(member)
        legal = [action for action, moves in TRANSITIONS.items() if state in moves]
        if member in left and instant - left[member] > timedelta(days=180):
            legal = [action for action in legal if action != "reactivate"]
        if not legal:
            continue
        action = draw(st.sampled_from(legal))
        states[member] = TRANSITIONS[action][state]
        if action == "deactivate":
            left[member] = instant
        events.append(MemberChange(instant, member, action))
    return events


def scenario(plan_: object, events: list[TimelineEvent], committed: int, zone: str) -> Scenario:
    from seatwise.core.plans import Plan

    assert isinstance(plan_, Plan)
    last = events[-1].at if events else START
    return Scenario(
        file="<property>",
        name="property",
        plan=plan_,
        account=Account(subscribed_at=START, committed_seats=committed, timezone=ZoneInfo(zone)),
        payment_method="succeeds",
        events=tuple(events),
        until=last + timedelta(days=400),
    )
