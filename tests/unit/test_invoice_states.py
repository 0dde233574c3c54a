"""Invoice states and credit notes, as pure rules (SPEC 6)."""

import pytest

from seatwise.core.invoice_states import (
    InvoiceStateError,
    check_transition,
    credit_note_effect,
)
from seatwise.core.money import currency

EUR = currency("EUR")


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("draft", "open"),
        ("open", "paid"),
        ("open", "void"),
        ("open", "uncollectible"),
        ("uncollectible", "paid"),
        ("uncollectible", "void"),
    ],
)
def test_allowed_moves(current: str, new: str) -> None:
    check_transition("INV-000001", current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [("paid", "void"), ("void", "paid"), ("draft", "paid"), ("open", "draft"), ("paid", "open")],
)
def test_refused_moves_say_what_is_possible(current: str, new: str) -> None:
    with pytest.raises(InvoiceStateError, match=f"INV-000001 is {current}: it cannot become"):
        check_transition("INV-000001", current, new)


def test_credit_note_on_an_open_invoice_lowers_what_is_owed() -> None:
    effect = credit_note_effect("INV-1", "open", 10000, 0, 2500, EUR)
    assert (effect.to_balance, effect.status) == (0, "open")
    effect = credit_note_effect("INV-1", "open", 10000, 2500, 7500, EUR)
    assert (effect.to_balance, effect.status) == (0, "paid")  # nothing left to pay


def test_credit_note_on_a_paid_invoice_goes_to_the_credit_balance() -> None:
    effect = credit_note_effect("INV-1", "paid", 10000, 0, 4000, EUR)
    assert (effect.to_balance, effect.status) == (4000, "paid")


def test_credit_notes_cannot_exceed_the_invoice() -> None:
    with pytest.raises(InvoiceStateError, match=r"has €25\.00 left to credit: €30\.00 is too much"):
        credit_note_effect("INV-1", "paid", 10000, 7500, 3000, EUR)
    with pytest.raises(InvoiceStateError, match="must be positive"):
        credit_note_effect("INV-1", "paid", 10000, 0, 0, EUR)
    with pytest.raises(InvoiceStateError, match="is void"):
        credit_note_effect("INV-1", "void", 10000, 0, 100, EUR)
