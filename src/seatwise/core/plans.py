"""Plans as data: the fields of SPEC section 3, their defaults, and strict validation.

:func:`parse_plan` takes a mapping (from YAML, JSON or Python), applies the preset it names,
and returns an immutable :class:`Plan`, or raises :class:`PlanError` naming the field. Money
is accepted as a decimal string, an int, or a ``Decimal``, never a float.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from seatwise.core.errors import FieldError, InvalidAmount, PlanError
from seatwise.core.limits import (
    MAX_ATTEMPTS,
    MAX_DAYS,
    MAX_HOURS,
    MAX_SEATS,
    check_amount,
    check_text,
)
from seatwise.core.money import Currency, currency, to_minor
from seatwise.core.presets import apply_preset
from seatwise.core.pricing import SeatPricing, Tier


@dataclass(frozen=True, slots=True)
class Increases:
    charge: str = "prorated"  # none | prorated | full
    proration: str = "day"  # day | second
    lines: str = "remaining_unused"  # remaining_unused | delta


@dataclass(frozen=True, slots=True)
class Pending:
    invoice: str = "renewal"  # immediately | threshold | monthly | renewal
    threshold: int = 0  # minor units


@dataclass(frozen=True, slots=True)
class Dunning:
    retry_after_days: int = 3
    max_attempts: int = 4
    grace_days: int = 14
    final_action: str = "suspend"  # suspend | cancel | delete


@dataclass(frozen=True, slots=True)
class Credits:
    unit_price: int
    tiers: tuple[Tier, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated plan. Amounts are integer minor units of ``currency``."""

    currency: Currency
    pricing: SeatPricing
    interval: str = "month"
    billing: str = "advance"
    seats: str = "active"
    count_invited: bool = False
    minimum_seats: int = 0
    increases: Increases = field(default_factory=Increases)
    decreases: str = "keep"
    pending: Pending = field(default_factory=Pending)
    statements: bool = False
    renewal_seats: str = "active"
    anchor_delay_hours: int = 0
    net_days: int = 30
    reminders: tuple[int, ...] = ()
    collection: str = "charge_automatically"
    dunning: Dunning = field(default_factory=Dunning)
    credits: Credits | None = None
    seat_name: str = "Seat"
    name: str = ""

    @property
    def months_per_term(self) -> int:
        return 12 if self.interval == "year" else 1


# The documented defaults, field by field (README "Plan fields" is written from this table).
DEFAULTS: dict[str, Any] = {
    "name": "",
    "currency": "USD",
    "interval": "month",
    "tiers_mode": "volume",
    "billing": "advance",
    "seats": "active",
    "count_invited": False,
    "minimum_seats": 0,
    "increases": {"charge": "prorated", "proration": "day", "lines": "remaining_unused"},
    "decreases": "keep",
    "pending": {"invoice": "renewal", "threshold": "0"},
    "statements": False,
    "renewal_seats": "active",
    "anchor_delay_hours": 0,
    "net_days": 30,
    "reminders": [],
    "collection": "charge_automatically",
    "dunning": {
        "retry_after_days": 3,
        "max_attempts": 4,
        "grace_days": 14,
        "final_action": "suspend",
    },
    "seat_name": "Seat",
}

_CHOICES: dict[str, tuple[str, ...]] = {
    "interval": ("month", "year"),
    "tiers_mode": ("volume", "graduated"),
    "billing": ("advance", "arrears"),
    "seats": ("active", "peak", "ever_active"),
    "decreases": ("keep", "credit"),
    "renewal_seats": ("active", "peak"),
    "collection": ("charge_automatically", "send_invoice"),
    "increases.charge": ("none", "prorated", "full"),
    "increases.proration": ("day", "second"),
    "increases.lines": ("remaining_unused", "delta"),
    "pending.invoice": ("immediately", "threshold", "monthly", "renewal"),
    "dunning.final_action": ("suspend", "cancel", "delete"),
}

_TOP_KEYS = {*DEFAULTS, "price", "tiers", "credits"}


class _Reader:
    """Reads one mapping of a plan, with the dotted path of each field for error messages."""

    def __init__(self, data: object, path: str, allowed: set[str]) -> None:
        if not isinstance(data, Mapping):
            raise PlanError(path, "must be a mapping")
        unknown = sorted(str(key) for key in data if key not in allowed)
        if unknown:
            raise PlanError(
                _join(path, unknown[0]),
                f"unknown field (known: {', '.join(sorted(allowed))})",
            )
        self.data = data
        self.path = path

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str) -> object:
        return self.data[key]

    def choice(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        options = _CHOICES[_join(self.path, key)]
        if value not in options:
            raise PlanError(_join(self.path, key), f"{value!r} is not one of {', '.join(options)}")
        return str(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise PlanError(_join(self.path, key), f"{value!r} is not true or false")
        return value

    def integer(self, key: str, default: int, minimum: int = 0, maximum: int = MAX_SEATS) -> int:
        return _integer(self.data.get(key, default), _join(self.path, key), minimum, maximum)

    def text(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise PlanError(_join(self.path, key), f"{value!r} is not text")
        try:
            return check_text(value, _join(self.path, key), 100, empty=key == "name")
        except FieldError as error:
            raise PlanError(error.field, error.reason) from None

    def money(self, key: str, cur: Currency, default: object = None) -> int:
        return _money(self.data.get(key, default), _join(self.path, key), cur)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _integer(value: object, path: str, minimum: int, maximum: int = MAX_SEATS) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanError(path, f"{value!r} is not a whole number")
    if value < minimum:
        raise PlanError(path, f"{value} is below the minimum of {minimum}")
    if value > maximum:
        raise PlanError(path, f"{value:,} is above the maximum of {maximum:,}")
    return value


def _money(value: object, path: str, cur: Currency) -> int:
    if isinstance(value, float):
        raise PlanError(path, f'{value!r} is a float: write amounts as decimal strings, "108.00"')
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise PlanError(path, f"{value!r} is not a decimal amount")
    try:
        minor = to_minor(str(value), cur)
    except InvalidAmount as error:
        raise PlanError(path, str(error)) from None
    try:
        return check_amount(minor, path)
    except FieldError as error:
        raise PlanError(error.field, error.reason) from None


def _tiers(value: object, path: str, cur: Currency) -> tuple[Tier, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise PlanError(path, 'must be a non-empty list of {from: N, price: "…"}')
    tiers: list[Tier] = []
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        reader = _Reader(item, item_path, {"from", "price"})
        if not reader.has("from") or not reader.has("price"):
            raise PlanError(item_path, "each tier needs `from` and `price`")
        first = _integer(reader.raw("from"), f"{item_path}.from", 1)
        if index == 0 and first != 1:
            raise PlanError(f"{item_path}.from", "the first tier must start from 1")
        if tiers and first <= tiers[-1].first:
            raise PlanError(f"{item_path}.from", "tiers must be in increasing order of `from`")
        tiers.append(Tier(first, reader.money("price", cur)))
    return tuple(tiers)


def parse_plan(data: Mapping[str, Any]) -> Plan:
    """Validate a plan mapping (after applying its preset) into a :class:`Plan`."""
    fields = apply_preset(data)
    top = _Reader(fields, "", _TOP_KEYS)
    try:
        cur = currency(top.text("currency", DEFAULTS["currency"]))
    except InvalidAmount as error:
        raise PlanError("currency", str(error)) from None

    if top.has("price") and top.has("tiers"):
        raise PlanError("price", "give `price` or `tiers`, not both")
    mode = top.choice("tiers_mode", DEFAULTS["tiers_mode"])
    if top.has("price"):
        pricing = SeatPricing.flat(top.money("price", cur))
    elif top.has("tiers"):
        pricing = SeatPricing(_tiers(top.raw("tiers"), "tiers", cur), mode)
    else:
        raise PlanError("price", "a plan needs a seat `price` or `tiers`")

    increases = _Reader(fields.get("increases", {}), "increases", {"charge", "proration", "lines"})
    pending = _Reader(fields.get("pending", {}), "pending", {"invoice", "threshold"})
    dunning = _Reader(
        fields.get("dunning", {}),
        "dunning",
        {"retry_after_days", "max_attempts", "grace_days", "final_action"},
    )
    billing = top.choice("billing", DEFAULTS["billing"])
    seats = top.choice("seats", DEFAULTS["seats"])
    if seats == "ever_active" and billing != "arrears":
        raise PlanError("seats", "`ever_active` counts a cycle past: it needs `billing: arrears`")

    reminders_raw = fields.get("reminders", [])
    if not isinstance(reminders_raw, Sequence) or isinstance(reminders_raw, str):
        raise PlanError("reminders", "must be a list of whole numbers of days")
    reminders = tuple(
        sorted(
            {_integer(v, f"reminders[{i}]", 0, MAX_DAYS) for i, v in enumerate(reminders_raw)},
            reverse=True,
        )
    )

    credits = None
    if top.has("credits"):
        reader = _Reader(fields["credits"], "credits", {"unit_price", "tiers"})
        if not reader.has("unit_price"):
            raise PlanError("credits.unit_price", "credits need a retail `unit_price`")
        credits = Credits(
            unit_price=reader.money("unit_price", cur),
            tiers=_tiers(reader.raw("tiers"), "credits.tiers", cur) if reader.has("tiers") else (),
        )

    return Plan(
        currency=cur,
        pricing=pricing,
        interval=top.choice("interval", DEFAULTS["interval"]),
        billing=billing,
        seats=seats,
        count_invited=top.boolean("count_invited", DEFAULTS["count_invited"]),
        minimum_seats=top.integer("minimum_seats", DEFAULTS["minimum_seats"]),
        increases=Increases(
            charge=increases.choice("charge", DEFAULTS["increases"]["charge"]),
            proration=increases.choice("proration", DEFAULTS["increases"]["proration"]),
            lines=increases.choice("lines", DEFAULTS["increases"]["lines"]),
        ),
        decreases=top.choice("decreases", DEFAULTS["decreases"]),
        pending=Pending(
            invoice=pending.choice("invoice", DEFAULTS["pending"]["invoice"]),
            threshold=pending.money("threshold", cur, DEFAULTS["pending"]["threshold"]),
        ),
        statements=top.boolean("statements", DEFAULTS["statements"]),
        renewal_seats=top.choice("renewal_seats", DEFAULTS["renewal_seats"]),
        anchor_delay_hours=top.integer(
            "anchor_delay_hours", DEFAULTS["anchor_delay_hours"], maximum=MAX_HOURS
        ),
        net_days=top.integer("net_days", DEFAULTS["net_days"], maximum=MAX_DAYS),
        reminders=reminders,
        collection=top.choice("collection", DEFAULTS["collection"]),
        dunning=Dunning(
            retry_after_days=dunning.integer("retry_after_days", 3, 1, MAX_DAYS),
            max_attempts=dunning.integer("max_attempts", 4, 1, MAX_ATTEMPTS),
            grace_days=dunning.integer("grace_days", 14, 0, MAX_DAYS),
            final_action=dunning.choice("final_action", "suspend"),
        ),
        credits=credits,
        seat_name=top.text("seat_name", DEFAULTS["seat_name"]),
        name=top.text("name", DEFAULTS["name"]),
    )
