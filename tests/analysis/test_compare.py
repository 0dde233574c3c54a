"""`seatwise compare`: one history under four presets, every figure computed by hand.

The history (files/hundred_licences.yaml): 100 members hold a seat from 1 January 2025, 5 more
from 10 March, 10 leave on 16 June; the window is [1 Jan 2025, 1 Jan 2026), €120 per seat-year
(€10 per seat-month for the monthly presets). Days: 1 Jan → 10 Mar = 68, 10 Mar → 16 Jun = 98,
16 Jun → 1 Jan = 199 (365 in all). Occupied seat-days: 100×68 + 105×98 + 95×199 = 35,995.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from seatwise.analysis.compare import (
    CompareError,
    compare,
    file_policy,
    own_policy,
    preset_policy,
)
from seatwise.analysis.tables import comparison_json, comparison_text
from seatwise.scenario import load_plan_file, load_scenario

FILES = Path(__file__).parent / "files"
HISTORY = FILES / "hundred_licences.yaml"


def plans_of(*presets: str) -> dict[str, dict[str, Any]]:
    scenario = load_scenario(HISTORY)
    policies = [own_policy(scenario), *(preset_policy(scenario, name) for name in presets)]
    doc = comparison_json(compare(scenario, policies))
    return {plan["label"]: plan for plan in doc["plans"]}


@pytest.fixture(scope="module")
def plans() -> dict[str, dict[str, Any]]:
    return plans_of("seats-annual", "seats-monthly", "active-users-monthly")


def invoices(plan: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(i["kind"], i["issued_at"][:10], i["total"]) for i in plan["invoices"]]


def months(plan: dict[str, Any], field: str) -> dict[str, str]:
    return {m["month"]: m[field] for m in plan["months"] if m[field] != "0.00"}


def test_licences_annual_charges_the_high_water_mark_and_keeps_it() -> None:
    plan = plans_of()["own plan (licences-annual)"]
    # 100 × €120 up front; 5 additional on 10 Mar for 297 of 365 days: 600 × 297/365 = 488.219…
    # on the monthly statement of 1 April; 11 statements (1 Feb … 1 Dec); the renewal of
    # 1 Jan 2026 is outside the window.
    assert invoices(plan)[0] == ("initial", "2025-01-01", "12000.00")
    assert invoices(plan)[3] == ("statement", "2025-04-01", "488.22")
    assert [kind for kind, _, _ in invoices(plan)] == ["initial"] + ["statement"] * 11
    assert plan["total"] == "12488.22" and plan["difference"] == "0.00"
    assert months(plan, "invoiced") == {"2025-01": "12000.00", "2025-04": "488.22"}
    # sent for payment (net 30) and not paid in the scenario: collected on the due dates,
    # 31 Jan and 1 May
    assert months(plan, "collected") == {"2025-01": "12000.00", "2025-05": "488.22"}
    assert plan["terms"] == [
        {"start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z", "invoiced": "12488.22"}
    ]
    # billed 100 for 68 days, then 105 for 297: 6,800 + 31,185 = 37,985; 10 seats unused for
    # the last 199 days = 1,990
    assert plan["seat_days"] == {
        "occupied": "35995.00",
        "billed": "37985.00",
        "paid_not_used": "1990.00",
        "used_not_paid": "0.00",
    }
    assert plan["billed_seats"] == [["2025-01-01T00:00:00Z", 100], ["2025-03-10T00:00:00Z", 105]]
    assert plan["occupancy"] == [
        ["2025-01-01T00:00:00Z", 100],
        ["2025-03-10T00:00:00Z", 105],
        ["2025-06-16T00:00:00Z", 95],
    ]


def test_seats_annual_prorates_both_ways(plans: dict[str, dict[str, Any]]) -> None:
    plan = plans["seats-annual"]
    # 10 Mar: remaining 105 × 120 × 297/365 = 10,252.60, unused −100 × 120 × 297/365 =
    # −9,764.38: €488.22 ≥ €150, an interim at once. 16 Jun: 95 × 120 × 199/365 = 6,215.34
    # against −105 × 120 × 199/365 = −6,869.59: a credit of €654.25, pending for the renewal.
    assert invoices(plan) == [
        ("initial", "2025-01-01", "12000.00"),
        ("interim", "2025-03-10", "488.22"),
    ]
    assert plan["total"] == "12488.22" and plan["difference"] == "0.00"
    assert months(plan, "collected") == {"2025-01": "12000.00", "2025-03": "488.22"}
    assert plan["seat_days"] == {
        "occupied": "35995.00",
        "billed": "35995.00",
        "paid_not_used": "0.00",
        "used_not_paid": "0.00",
    }


def test_seats_monthly_charges_renewals_only(plans: dict[str, dict[str, Any]]) -> None:
    plan = plans["seats-monthly"]
    assert plan["plan"] == {"preset": "seats-monthly", "currency": "EUR", "price": "10.00"}
    # €10 per seat-month: 100 on 1 Jan, 1 Feb, 1 Mar; 105 on 1 Apr, May, Jun; 95 from 1 Jul.
    expected = ["1000.00"] * 3 + ["1050.00"] * 3 + ["950.00"] * 6
    assert [total for _, _, total in invoices(plan)] == expected
    assert plan["total"] == "11850.00" and plan["difference"] == "-638.22"
    assert len(plan["terms"]) == 12
    # billed 100 × 90 + 105 × 91 + 95 × 184 = 36,035; 5 members unpaid 10 Mar → 1 Apr (22 days
    # = 110); 10 seats paid and unused 16 Jun → 1 Jul (15 days = 150)
    assert plan["seat_days"] == {
        "occupied": "35995.00",
        "billed": "36035.00",
        "paid_not_used": "150.00",
        "used_not_paid": "110.00",
    }


def test_active_users_monthly_bills_each_cycle_after_it(plans: dict[str, dict[str, Any]]) -> None:
    plan = plans["active-users-monthly"]
    # cycles end on the 2nd (anchor 24 h after subscribing); each charges everyone who held a
    # seat in it: 100 for Jan and Feb, 105 from the cycle of 2 Mar up to the one ending 2 Jul
    # (m1–m10 left on 16 Jun, inside it), 95 after. The cycle of 2 Dec is billed on 2 Jan 2026.
    expected = ["1000.00"] * 2 + ["1050.00"] * 4 + ["950.00"] * 5
    assert [total for _, _, total in invoices(plan)] == expected
    assert invoices(plan)[0] == ("arrears", "2025-02-02", "1000.00")
    assert plan["total"] == "10950.00" and plan["difference"] == "-1538.22"
    assert months(plan, "collected") == months(plan, "invoiced")  # charged when issued
    # billed 100 × 60 + 105 × 122 + 95 × 153 + 95 × 30 (the cycle under way) = 36,195;
    # paid and unused: 5 seats 2 → 10 Mar (40) and 10 seats 16 Jun → 2 Jul (160)
    assert plan["seat_days"] == {
        "occupied": "35995.00",
        "billed": "36195.00",
        "paid_not_used": "200.00",
        "used_not_paid": "0.00",
    }


def test_cash_timing_advance_against_arrears(plans: dict[str, dict[str, Any]]) -> None:
    to_date = {
        label: {m["month"]: m["collected_to_date"] for m in plan["months"]}
        for label, plan in plans.items()
    }
    assert to_date["seats-annual"]["2025-01"] == "12000.00"
    assert to_date["seats-monthly"]["2025-01"] == "1000.00"
    assert to_date["active-users-monthly"]["2025-01"] == "0.00"
    assert to_date["active-users-monthly"]["2025-12"] == "10950.00"


def test_a_plan_against_itself_differs_by_nothing() -> None:
    plans = plans_of("licences-annual")
    first, again = plans["own plan (licences-annual)"], plans["licences-annual"]
    assert again["difference"] == "0.00"
    assert all(m["difference"] == "0.00" for m in again["months"])
    assert again["invoices"] == first["invoices"]
    assert again["seat_days"] == first["seat_days"]


def test_plans_of_another_currency_are_refused(tmp_path: Path) -> None:
    scenario = load_scenario(HISTORY)
    usd = tmp_path / "usd.yaml"
    usd.write_text('preset: seats-monthly\ncurrency: USD\nprice: "10.00"\n', encoding="utf-8")
    plan, definition = load_plan_file(usd)
    with pytest.raises(CompareError, match="usd bills in USD and the scenario in EUR"):
        compare(scenario, [own_policy(scenario), file_policy("usd", plan, definition)])


def test_the_text_table_names_every_plan_and_total(plans: dict[str, dict[str, Any]]) -> None:
    scenario = load_scenario(HISTORY)
    text = comparison_text(
        compare(scenario, [own_policy(scenario), preset_policy(scenario, "seats-monthly")])
    )
    assert "€12,488.22" in text and "€11,850.00" in text and "−€638.22" in text
    assert "used, not paid for" in text
    json.dumps(plans)  # the document is plain JSON
