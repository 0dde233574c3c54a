"""The core's hot records get a quicker ``__init__`` (seatwise.core.records.quick_init) and
must stay exactly the frozen dataclasses they were: the same signature, defaults, errors,
equality, hashing and immutability."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from seatwise.core.dunning import Charge, Remind
from seatwise.core.invoicing import Explanation, Invoice, Line
from seatwise.core.periods import Period
from seatwise.core.records import quick_init, replaced
from seatwise.core.seat_timeline import MemberChange

AT = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
PERIOD = Period(AT, END)
WHY = Explanation("Seats went from 3 to 4.", ("m4",))
LINE = Line("remaining_time", "Remaining time on 4 × Seat", 4, 12000, 9567, PERIOD, WHY)

# each quickly made record, with the values of every field, in order
RECORDS: list[tuple[type[Any], tuple[Any, ...]]] = [
    (Period, (AT, END)),
    (MemberChange, (AT, "m4", "activate")),
    (Explanation, ("Seats went from 3 to 4.", ("m4",), (MemberChange(AT, "m4", "activate"),))),
    (Line, ("remaining_time", "Remaining", 4, 12000, 9567, PERIOD, WHY, "INV-0001")),
    (Invoice, ("interim", AT, END, PERIOD, (LINE,))),
]


def stock_twin(cls: type[Any]) -> type[Any]:
    """The same fields as a dataclass with the stock frozen ``__init__``."""
    fields = [(f.name, f.type, field(default=f.default)) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(cls.__name__, fields, frozen=True, slots=True)


@pytest.mark.parametrize(("cls", "values"), RECORDS, ids=[c.__name__ for c, _ in RECORDS])
def test_a_quick_record_is_the_frozen_dataclass_it_was(cls: type[Any], values: tuple[Any, ...]):
    twin = stock_twin(cls)
    assert str(inspect.signature(cls)) == str(inspect.signature(twin))
    names = [f.name for f in dataclasses.fields(cls)]
    by_position, by_name = cls(*values), cls(**dict(zip(names, values, strict=True)))
    assert by_position == by_name
    assert hash(by_position) == hash(by_name)
    assert [getattr(by_position, name) for name in names] == list(values)
    assert repr(by_position).removeprefix(cls.__qualname__) == repr(twin(*values)).removeprefix(
        twin.__qualname__
    )
    with pytest.raises(FrozenInstanceError):
        setattr(by_position, names[0], values[0])
    with pytest.raises(TypeError, match="missing"):
        cls()
    with pytest.raises(TypeError, match="unexpected keyword"):
        cls(*values, colour="red")
    with pytest.raises(TypeError, match="positional"):
        cls(*values, *values)
    assert dataclasses.replace(by_position, **{names[-1]: values[-1]}) == by_position


def test_defaults_are_the_fields_defaults():
    assert Line("seats", "3 × Seat", 3, 100, 300, PERIOD, WHY).corrects is None
    assert Explanation("Because.") == Explanation("Because.", (), ())


@dataclass(frozen=True, slots=True)
class _Checked:
    amount: int

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("negative")


@dataclass(frozen=True, slots=True)
class _Factory:
    members: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _KeywordOnly:
    amount: int = field(kw_only=True)


@dataclass(slots=True)
class _Mutable:
    amount: int


@dataclass(frozen=True)
class _Unslotted:
    amount: int


@pytest.mark.parametrize("cls", [_Checked, _Factory, _KeywordOnly, _Mutable, _Unslotted, int])
def test_a_class_it_cannot_serve_exactly_is_refused_when_defined(cls: type[Any]):
    with pytest.raises(TypeError, match="quick_init"):
        quick_init(cls)


def test_replaced_gives_what_dataclasses_replace_gives_and_refuses_what_it_refuses() -> None:
    at = datetime(2025, 3, 1, 9, tzinfo=UTC)
    charge = Charge(at, "~0", "card", "first charge")
    assert replaced(charge, invoice="INV-000007") == dataclasses.replace(
        charge, invoice="INV-000007"
    )
    assert replaced(charge, invoice="INV-000007") == Charge(
        at, "INV-000007", "card", "first charge"
    )
    assert type(replaced(Remind(at, "~1", 3), invoice="INV-8")) is Remind
    period = Period(at, datetime(2025, 4, 1, tzinfo=UTC))
    line = Line("seats", "3 × Seat", 3, 1000, 3000, period, Explanation("why"))
    invoice = Invoice("renewal", at, at, period, (line,))
    later = replaced(invoice, issued_at=period.end, due_at=period.end)
    assert later == dataclasses.replace(invoice, issued_at=period.end, due_at=period.end)
    assert later.lines is invoice.lines and invoice.issued_at == at  # the original unchanged
    with pytest.raises(TypeError, match="Charge has no field 'number'"):
        replaced(charge, number="INV-1")
