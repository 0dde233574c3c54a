"""The five named billing policies of SPEC section 2, as plan fields.

A preset sets policy, never a price. A plan names one with ``preset:`` and overrides any of
its fields; nested mappings (``increases``, ``pending``, ``dunning``, ``credits``) are merged
key by key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seatwise.core.errors import PlanError

PRESETS: dict[str, dict[str, Any]] = {
    # 2.1 — annual licences, high-water mark, monthly true-up on a monthly statement.
    "licences-annual": {
        "interval": "year",
        "billing": "advance",
        "seats": "peak",
        "count_invited": False,
        "increases": {"charge": "prorated", "proration": "day", "lines": "delta"},
        "decreases": "keep",
        "pending": {"invoice": "monthly", "threshold": "0"},
        "statements": True,
        "renewal_seats": "active",
        "reminders": [15, 7, 3, 1],
        "collection": "send_invoice",
    },
    # 2.2 — every user active during the cycle, billed in arrears, 24 h anchor delay.
    "active-users-monthly": {
        "interval": "month",
        "billing": "arrears",
        "seats": "ever_active",
        "count_invited": False,
        "minimum_seats": 1,
        "anchor_delay_hours": 24,
        "collection": "charge_automatically",
        "net_days": 0,
        "dunning": {
            "retry_after_days": 2,
            "max_attempts": 3,
            "grace_days": 7,
            "final_action": "delete",
        },
    },
    # 2.3 — active users at renewal, monthly, no proration.
    "seats-monthly": {
        "interval": "month",
        "billing": "advance",
        "seats": "active",
        "count_invited": False,
        "increases": {"charge": "none"},
        "decreases": "keep",
        "pending": {"invoice": "renewal"},
        "renewal_seats": "active",
    },
    # 2.3 — active users at renewal, annual, remaining/unused pairs, $150 threshold.
    "seats-annual": {
        "interval": "year",
        "billing": "advance",
        "seats": "active",
        "count_invited": False,
        "increases": {"charge": "prorated", "proration": "day", "lines": "remaining_unused"},
        "decreases": "credit",
        "pending": {"invoice": "threshold", "threshold": "150.00"},
        "renewal_seats": "active",
    },
    # 2.4 — agreed licences, invited members hold a seat, monthly interim invoices,
    # no downgrade inside a term, renewal at the term's maximum.
    "contract-annual": {
        "interval": "year",
        "billing": "advance",
        "seats": "peak",
        "count_invited": True,
        "increases": {"charge": "prorated", "proration": "day", "lines": "remaining_unused"},
        "decreases": "keep",
        "pending": {"invoice": "monthly", "threshold": "0"},
        "renewal_seats": "peak",
    },
}


def preset_names() -> list[str]:
    return sorted(PRESETS)


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``; mappings present in both are merged key by key."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            merged[key] = merge(below, value)
        else:
            merged[key] = value
    return merged


def apply_preset(data: Mapping[str, Any]) -> dict[str, Any]:
    """The plan's fields on top of its preset's (if it names one), without the ``preset`` key."""
    fields = dict(data)
    name = fields.pop("preset", None)
    if name is None:
        return fields
    if not isinstance(name, str) or name not in PRESETS:
        raise PlanError("preset", f"unknown preset {name!r} (known: {', '.join(preset_names())})")
    return merge(PRESETS[name], fields)
